//! Parse the command line, build the runtime, run, map the result to an exit
//! code — nothing else. 0 success (or no changes), 1 error, 2 changes present
//! (with `plan --detailed-exitcode`).

use std::process::ExitCode;

use clap::Parser;
use mobile_backend::cli::Cli;
use mobile_backend::commands;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version are successes; usage errors are errors (exit 1,
            // never clap's 2, which means "changes present" here).
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(commands::run(cli));
    // A prompt abandoned on Ctrl-C still blocks a thread reading the terminal.
    runtime.shutdown_background();
    match result {
        Ok(code) => code,
        Err(failure) => {
            eprintln!("{}", failure.report());
            ExitCode::from(1)
        }
    }
}
