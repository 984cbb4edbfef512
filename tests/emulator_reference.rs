//! The whole reference architecture of `stacks/` (the DESIGN example: the
//! "Serverless Reference Architecture: Mobile Backend" as one stack: identity and user pools, table, bucket, search
//! domain, REST API, roles) goes up, converges and leaves nothing on
//! destroy: CloudSearch against the project's stand-in, and the same stack
//! with `engine = "opensearch"` on MiniStack alone.

mod support;

#[path = "support/cloudsearch.rs"]
mod cloudsearch;

use cloudsearch::StandIn;
use support::inventory::inventory;
use support::World;

#[tokio::test]
async fn the_reference_architecture_goes_up_converges_and_goes_away_with_cloudsearch() {
    let standin = StandIn::start();
    let env = [("AWS_ENDPOINT_URL_CLOUDSEARCH", standin.url.as_str())];
    let w = World::new("ref");
    w.use_reference_architecture("cloudsearch").await;

    w.run_env(&["validate"], &env, None).code(0);
    w.run_env(&["plan", "--detailed-exitcode"], &env, None)
        .code(2);
    w.run_env(&["up", "--auto-approve"], &env, None).code(0);
    assert!(!inventory(&w).await.is_empty());
    assert_eq!(
        standin.domain_names(&w.account),
        vec![format!("{}-notes", w.stack)]
    );
    w.run_env(&["plan", "--detailed-exitcode"], &env, None)
        .code(0);

    w.run_env(&["destroy", "--auto-approve"], &env, None)
        .code(0);
    assert_eq!(inventory(&w).await, Vec::new());
    assert!(standin.domain_names(&w.account).is_empty());
}

#[tokio::test]
async fn the_reference_architecture_with_opensearch_needs_only_the_emulator() {
    let w = World::new("refos");
    w.use_reference_architecture("opensearch").await;

    w.run(&["up", "--auto-approve"]).code(0);
    w.run(&["plan", "--detailed-exitcode"]).code(0);
    w.run(&["destroy", "--auto-approve"]).code(0);
    assert_eq!(inventory(&w).await, Vec::new());
}
