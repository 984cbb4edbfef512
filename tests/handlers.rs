//! The project's Lambda handlers (`functions/`) tested offline with Node's
//! own test runner: `node --test tests/handlers/` (Signature Version 4
//! against the AWS test suite's vectors, the CloudSearch and OpenSearch
//! requests against a local server, the notes API's validation). Node is
//! needed anyway: the emulator runs the handlers with the `node` on PATH.

use std::process::Command;

#[test]
fn the_handlers_pass_their_node_tests() {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = Command::new("node")
        .args(["--test", "tests/handlers/"])
        .current_dir(root)
        .output()
        .unwrap_or_else(|e| panic!("cannot run `node` (Node.js 20 is needed for these tests and the emulator's Lambda): {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "node --test tests/handlers/ failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("# fail 0") && !stdout.contains("# pass 0"),
        "node ran no test or some failed:\n{stdout}"
    );
}
