//! `cloudsearch-standin`: a local stand-in of Amazon CloudSearch for running
//! a stack with `engine = "cloudsearch"` without AWS (no emulator has
//! CloudSearch). It binds 127.0.0.1 only and serves the configuration API
//! and each domain's document and search endpoints; see `standin.rs` and
//! `documents.rs` for what it does and does not do.
//!
//! ```text
//! cloudsearch-standin --port 4567 &
//! AWS_ENDPOINT_URL_CLOUDSEARCH=http://127.0.0.1:4567 mobile-backend up
//! ```

mod standin;

use std::io::Write;
use std::net::TcpListener;
use std::process::ExitCode;

use clap::Parser;

/// A local stand-in of Amazon CloudSearch (configuration API, document and
/// search endpoints), on 127.0.0.1.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// The port to listen on (0: any free port; the address is printed).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// How many `DescribeDomains` calls a domain stays `Processing` after
    /// each change (AWS takes minutes; 0 makes every change active at once).
    #[arg(long, default_value_t = 0)]
    processing_calls: u32,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let listener = match TcpListener::bind(("127.0.0.1", args.port)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "error: cannot listen on 127.0.0.1:{}: {e}; choose another --port",
                args.port
            );
            return ExitCode::FAILURE;
        }
    };
    let settings = standin::Settings {
        processing_calls: args.processing_calls,
        refuse_create: false,
    };
    let standin = match standin::StandIn::serve_on(listener, settings) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: the listening socket has no address: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("cloudsearch-standin: listening on {}", standin.url);
    // A script waiting for this line must see it at once.
    let _ = std::io::stdout().flush();
    loop {
        std::thread::park();
    }
}
