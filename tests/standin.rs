//! The `cloudsearch-standin` binary: it prints its address, binds 127.0.0.1
//! only, answers the configuration API, and serves a created domain's
//! document and search endpoints at the URLs `DescribeDomains` reports; the
//! real `aws cloudsearch` and `aws cloudsearchdomain` CLI understand it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

/// One HTTP/1.1 request; the status and the body.
fn request(
    url: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let host = url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(host).expect("the stand-in answers");
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    write!(stream, "{head}\r\n{body}").expect("a request");
    let mut answer = String::new();
    // The stand-in keeps the connection open: read the head, then the body.
    let mut reader = BufReader::new(&mut stream);
    let mut length = 0;
    let mut status = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).expect("a header line");
        if status == 0 {
            status = line
                .split_whitespace()
                .nth(1)
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        if line.trim().is_empty() {
            break;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).expect("the body");
    answer.push_str(&String::from_utf8_lossy(&body));
    (status, answer)
}

const SIGNED: (&str, &str) = (
    "Authorization",
    "AWS4-HMAC-SHA256 Credential=111122223333/20261206/us-east-1/cloudsearch/aws4_request, SignedHeaders=host, Signature=0",
);

/// The started stand-in, stopped (by its PID) when the test ends, passed or not.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_binary_serves_configuration_documents_and_search() {
    let mut child = Running(
        Command::new(env!("CARGO_BIN_EXE_cloudsearch-standin"))
            .args(["--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start cloudsearch-standin"),
    );
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().expect("its stdout"))
        .read_line(&mut line)
        .expect("its first line");
    let url = line
        .trim()
        .strip_prefix("cloudsearch-standin: listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line}"))
        .to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");

    let form = &[
        ("Content-Type", "application/x-www-form-urlencoded"),
        SIGNED,
    ];
    for body in [
        "Action=CreateDomain&Version=2013-01-01&DomainName=notes",
        "Action=DefineIndexField&Version=2013-01-01&DomainName=notes&IndexField.IndexFieldName=headline&IndexField.IndexFieldType=text",
        "Action=IndexDocuments&Version=2013-01-01&DomainName=notes",
    ] {
        let (status, answer) = request(&url, "POST", "/", form, body);
        assert_eq!(status, 200, "{body}: {answer}");
    }
    let (_, described) = request(
        &url,
        "POST",
        "/",
        form,
        "Action=DescribeDomains&Version=2013-01-01",
    );
    let endpoint = |tag: &str| {
        let start = described.find(&format!("<{tag}><Endpoint>")).expect(tag) + tag.len() + 12;
        let end = described[start..].find("</Endpoint>").expect("the end") + start;
        described[start..end].trim_start_matches(&url).to_string()
    };
    let (doc, search) = (endpoint("DocService"), endpoint("SearchService"));
    assert!(doc.starts_with("/doc-notes-"), "{described}");

    let json = &[("Content-Type", "application/json"), SIGNED];
    let batch = r#"[{"type":"add","id":"n-1","fields":{"headline":"Harbour at dawn"}}]"#;
    let (status, answer) = request(
        &url,
        "POST",
        &format!("{doc}/2013-01-01/documents/batch"),
        json,
        batch,
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&answer).ok(),
        Some(serde_json::json!({ "status": "success", "adds": 1, "deletes": 0 }))
    );
    let (status, answer) = request(
        &url,
        "GET",
        &format!("{search}/2013-01-01/search?q=harbour"),
        &[SIGNED],
        "",
    );
    assert_eq!(status, 200, "{answer}");
    let answer: serde_json::Value = serde_json::from_str(&answer).expect("JSON");
    assert_eq!(answer["hits"]["hit"][0]["id"], "n-1");
    assert_eq!(
        answer["hits"]["hit"][0]["fields"]["headline"][0],
        "Harbour at dawn"
    );
    // Unsigned: refused, as AWS refuses it under an IAM access policy.
    let (status, _) = request(
        &url,
        "GET",
        &format!("{search}/2013-01-01/search?q=harbour"),
        &[],
        "",
    );
    assert_eq!(status, 403);
}

#[test]
fn a_port_in_use_is_an_error_that_says_so() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = taken.local_addr().expect("its address").port().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_cloudsearch-standin"))
        .args(["--port", &port])
        .output()
        .expect("run cloudsearch-standin");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{stderr}"
    );
    assert!(stderr.contains("--port"), "{stderr}");
}

/// Starts the binary on a free port; its URL.
fn start() -> (Running, String) {
    let mut child = Running(
        Command::new(env!("CARGO_BIN_EXE_cloudsearch-standin"))
            .args(["--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start cloudsearch-standin"),
    );
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().expect("its stdout"))
        .read_line(&mut line)
        .expect("its first line");
    let url = line
        .trim()
        .strip_prefix("cloudsearch-standin: listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line}"))
        .to_string();
    (child, url)
}

/// Runs the aws CLI of `.venv` (scripts/test.sh says where) with `args`;
/// its parsed JSON output.
fn aws(args: &[&str]) -> serde_json::Value {
    let cli = std::env::var("MOBILE_BACKEND_TEST_AWS_CLI").unwrap_or_else(|_| {
        panic!("MOBILE_BACKEND_TEST_AWS_CLI is not set: run the tests with scripts/test.sh, which installs the aws CLI into .venv")
    });
    let out = Command::new(&cli)
        .args(args)
        .args(["--output", "json"])
        .env("AWS_ACCESS_KEY_ID", "111122223333")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env_remove("AWS_PROFILE")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cli}: {e}"));
    assert!(
        out.status.success(),
        "aws {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    if text.trim().is_empty() {
        return serde_json::Value::Null;
    }
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("aws {}: {e}: {text}", args.join(" ")))
}

#[test]
fn the_aws_cli_uploads_documents_and_searches_through_the_standin() {
    let (_running, url) = start();
    let config = ["--endpoint-url", url.as_str()];
    aws(&[
        &config[..],
        &["cloudsearch", "create-domain", "--domain-name", "movies"],
    ]
    .concat());
    for (field, kind) in [("title", "text"), ("genre", "literal")] {
        aws(&[
            &config[..],
            &[
                "cloudsearch",
                "define-index-field",
                "--domain-name",
                "movies",
                "--name",
                field,
                "--type",
                kind,
            ],
        ]
        .concat());
    }
    aws(&[
        &config[..],
        &["cloudsearch", "index-documents", "--domain-name", "movies"],
    ]
    .concat());
    let described = aws(&[&config[..], &["cloudsearch", "describe-domains"]].concat());
    let status = &described["DomainStatusList"][0];
    let doc = status["DocService"]["Endpoint"]
        .as_str()
        .expect("a document endpoint");
    let search = status["SearchService"]["Endpoint"]
        .as_str()
        .expect("a search endpoint");

    let dir = tempfile::tempdir().expect("a temp dir");
    let batch = dir.path().join("batch.json");
    std::fs::write(
        &batch,
        r#"[{"type":"add","id":"tt1","fields":{"title":"The Harbour at Dawn","genre":"drama"}},
            {"type":"add","id":"tt2","fields":{"title":"Mountains","genre":"documentary"}}]"#,
    )
    .expect("the batch");
    let uploaded = aws(&[
        "--endpoint-url",
        doc,
        "cloudsearchdomain",
        "upload-documents",
        "--content-type",
        "application/json",
        "--documents",
        batch.to_str().expect("a UTF-8 path"),
    ]);
    assert_eq!(uploaded["status"], "success", "{uploaded}");
    assert_eq!(uploaded["adds"], 2, "{uploaded}");

    let found = aws(&[
        "--endpoint-url",
        search,
        "cloudsearchdomain",
        "search",
        "--search-query",
        "harbour",
        "--return",
        "title,genre",
    ]);
    assert_eq!(found["hits"]["found"], 1, "{found}");
    assert_eq!(found["hits"]["hit"][0]["id"], "tt1", "{found}");
    assert_eq!(
        found["hits"]["hit"][0]["fields"],
        serde_json::json!({ "title": ["The Harbour at Dawn"], "genre": ["drama"] }),
        "{found}"
    );
}
