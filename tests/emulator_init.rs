//! Every `init` template, end to end on the emulator: written by `init`,
//! validated, `up`, converged (`plan --detailed-exitcode` is 0), and
//! `destroy`ed with nothing of it left in the account. None of them needs
//! anything outside the stack (no Lambda function), so each goes up as
//! written.

mod support;

use support::inventory::inventory;
use support::World;

/// `init --template <template>` into the test's temp dir, then the written
/// stack as the test's stack (its `[stack]` table swapped for the test
/// account's own, as for the repository's example stacks).
fn init(w: &World, template: &str) {
    let project = w.path("init");
    let project_arg = project.display().to_string();
    w.run(&[
        "init",
        "--template",
        template,
        "--name",
        &w.stack,
        &project_arg,
    ])
    .code(0)
    .stdout_has(&format!("stacks/{}.toml", w.stack));
    let policies = project.join("policies");
    std::fs::create_dir_all(&policies).expect("a policies dir");
    w.use_stack_file(&project.join(format!("stacks/{}.toml", w.stack)), &policies);
}

async fn goes_up_converges_and_goes_away(template: &str, prefix: &str, resources: usize) {
    let w = World::new(prefix);
    init(&w, template);

    w.run(&["validate"])
        .code(0)
        .stdout_has(&format!("with {resources} resources"));
    w.run(&["plan", "--detailed-exitcode"]).code(2);
    w.run(&["up", "--auto-approve"]).code(0);
    let created = inventory(&w).await;
    assert!(
        created.len() >= resources,
        "{template}: {} of {resources} resources in the account: {created:?}",
        created.len()
    );
    w.run(&["plan", "--detailed-exitcode"]).code(0);

    w.run(&["destroy", "--auto-approve"]).code(0);
    assert_eq!(inventory(&w).await, Vec::new(), "{template} left something");
}

#[tokio::test]
async fn the_swift_starter_template_goes_up_converges_and_goes_away() {
    goes_up_converges_and_goes_away("swift-starter", "initss", 4).await;
}

#[tokio::test]
async fn the_photo_notes_template_goes_up_converges_and_goes_away() {
    goes_up_converges_and_goes_away("photo-notes", "initpn", 2).await;
}

#[tokio::test]
async fn the_user_pool_template_goes_up_converges_and_goes_away() {
    goes_up_converges_and_goes_away("user-pool", "initup", 6).await;
}
