//! The commands: each is a thin wrapper over the layers (stack → live reads →
//! plan → apply → render). Errors a user can hit become a [`Failure`] with what
//! went wrong, where, and what to do; `main` turns it into exit code 1.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures::future::join_all;

use crate::apply::{self, Report};
use crate::aws::{Aws, Settings};
use crate::cli::{Cli, Command, DestroyArgs, GlobalArgs, PlanArgs, UnlockArgs, UpArgs};
use crate::lock;
use crate::plan::fingerprint::{self, Fingerprint, Saved};
use crate::plan::{self, Action, Input, Mode, Plan, ResourceChange};
use crate::render;
use crate::resource::{
    self, ApplyOptions, Desired, DesiredContext, Live, Ownership, ResourceType, Target,
};
use crate::stack::reference::{Reference, UNKNOWN};
use crate::stack::{self, Address, Lookup, Stack};

/// A user-facing error: printed as `error: ...`, exit code 1.
#[derive(Debug)]
pub struct Failure(pub String);

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for Failure {
    fn from(s: String) -> Self {
        Failure(s)
    }
}

type Result<T> = std::result::Result<T, Failure>;

pub const EXIT_CHANGES: u8 = 2;

/// Writes to standard output; a closed pipe (`| head`) is not an error.
fn emit(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure(format!("cannot write to standard output: {e}"))),
    }
}

pub async fn run(cli: Cli) -> Result<ExitCode> {
    let g = &cli.global;
    match &cli.command {
        Command::Validate => validate(g),
        Command::Plan(args) => plan_command(g, args).await,
        Command::Up(args) => up(g, args).await,
        Command::Destroy(args) => destroy(g, args).await,
        Command::Outputs(args) => outputs_command(g, args).await,
        Command::Unlock(args) => unlock(g, args).await,
        Command::Init(args) => init(g, args),
        Command::Adopt(args) => adopt_command(g, args).await,
        Command::Schema => schema_command(),
        Command::Completions(args) => completions(args),
        Command::Man(args) => man(args),
    }
}

/// `--stack`, else `$MOBILE_BACKEND_STACK` (clap reads it), else the only
/// `*.toml` in `stacks/`.
fn stack_path(g: &GlobalArgs) -> Result<PathBuf> {
    if let Some(p) = &g.stack {
        return Ok(p.clone());
    }
    let dir = Path::new("stacks");
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(Failure(
            "no stack file: pass --stack FILE, set MOBILE_BACKEND_STACK, or put one *.toml in stacks/".into(),
        )),
        _ => Err(Failure(format!(
            "stacks/ holds {} stack files ({}); pass --stack FILE to choose one",
            found.len(),
            found.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
        ))),
    }
}

fn load(g: &GlobalArgs) -> Result<Stack> {
    let path = stack_path(g)?;
    let color = render::stderr_color(g.no_color);
    let stack = stack::load(&path).map_err(|d| Failure(d.render(color).trim_end().to_string()))?;
    let warnings = stack.sources.render_warnings(color);
    if !warnings.is_empty() {
        eprint!("{warnings}");
    }
    Ok(stack)
}

fn validate(g: &GlobalArgs) -> Result<ExitCode> {
    let stack = load(g)?;
    let list: Vec<String> = stack.resources.keys().map(|a| a.to_string()).collect();
    emit(&format!(
        "{} is valid: stack `{}` with {} resource{}{}\n",
        stack.file.display(),
        stack.name,
        list.len(),
        if list.len() == 1 { "" } else { "s" },
        if list.is_empty() {
            String::new()
        } else {
            format!(" ({})", list.join(", "))
        }
    ))?;
    Ok(ExitCode::SUCCESS)
}

async fn connect(g: &GlobalArgs, stack: &Stack) -> Result<Aws> {
    let settings = Settings {
        region: g.region.clone(),
        stack_region: stack.region.clone(),
        profile: g.profile.clone(),
        endpoint_url: g.endpoint_url.clone(),
    };
    Aws::connect(&settings).await.map_err(Failure)
}

/// Values references resolve to: the context and the outputs known so far.
struct Values {
    account_id: String,
    region: String,
    outputs: BTreeMap<Address, BTreeMap<String, String>>,
}

impl Lookup for Values {
    fn value(&self, reference: &Reference) -> Option<String> {
        match reference {
            Reference::AwsAccountId => Some(self.account_id.clone()),
            Reference::AwsRegion => Some(self.region.clone()),
            Reference::StackName => None, // the stack answers this itself
            Reference::Resource { address, attribute } => self
                .outputs
                .get(address)
                .and_then(|o| o.get(attribute))
                .cloned(),
        }
    }
}

/// What a plan was made from, kept for applying it.
struct Reads {
    /// Every resource read, by (address, physical name).
    lives: BTreeMap<(Address, String), Live>,
    /// Digests of the plan's inputs, for saved plans.
    fingerprint: Fingerprint,
}

fn desired_for(
    stack: &Stack,
    aws: &Aws,
    address: &Address,
    name: &str,
    values: &Values,
) -> std::result::Result<Desired, String> {
    let spec = stack.resolve_spec(&address.resource(), values)?;
    let ctx = DesiredContext {
        stack,
        lookup: values,
        account_id: &aws.account_id,
        region: &aws.region,
        partition: &aws.partition,
    };
    let attributes = resource::desired_attributes(
        address,
        &spec,
        name,
        stack.tags_for(address, spec.tags()),
        &ctx,
    )?;
    let depends_on: Vec<Address> = stack
        .steps
        .get(address)
        .map(|d| d.iter().cloned().collect())
        .unwrap_or_default();
    Ok(Desired {
        address: address.clone(),
        physical_name: name.to_string(),
        attributes,
        depends_on,
    })
}

/// Reads live state (concurrently) and makes the plan.
async fn make_plan(stack: &Stack, aws: &Aws, mode: Mode) -> Result<(Plan, Reads)> {
    let mut values = Values {
        account_id: aws.account_id.clone(),
        region: aws.region.clone(),
        outputs: BTreeMap::new(),
    };
    // Physical names may use only the context, never another resource's value.
    let mut names_by_address = BTreeMap::new();
    for address in stack.steps.keys() {
        let name = stack
            .physical_name(address, &values)
            .map_err(|e| Failure(format!("{address} ({}): {e}", stack.location(address))))?;
        if name.contains(UNKNOWN) {
            return Err(Failure(format!(
                "{address} ({}): its name uses another resource's value; a name may use only ${{stack.name}}, ${{aws.account_id}} and ${{aws.region}}",
                stack.location(address)
            )));
        }
        if address.part.is_none() {
            address.kind.check_name(&name).map_err(|why| {
                Failure(format!(
                    "{address} ({}): the name `{name}` {why}; set `name = \"...\"`",
                    stack.location(address)
                ))
            })?;
        }
        names_by_address.insert(address.clone(), name);
    }

    // Resources first (all at once, with the search for tagged leftovers),
    // then their parts, which need the resource's id.
    let mut errors = Vec::new();
    let mut live: BTreeMap<Address, Option<Live>> = BTreeMap::new();
    let mut lives = BTreeMap::new();
    let mut tagged = Ok(Vec::new());
    for parts in [false, true] {
        let batch: Vec<(&Address, &String, Option<resource::Outputs>)> = names_by_address
            .iter()
            .filter(|(a, _)| a.part.is_some() == parts)
            .map(|(a, n)| (a, n, values.outputs.get(&a.resource()).cloned()))
            .collect();
        let reads = join_all(batch.into_iter().map(|(address, name, parent)| async move {
            // A part of a resource that does not exist yet does not exist either.
            let result = if address.part.is_some() && parent.is_none() {
                Ok(None)
            } else {
                let target = Target {
                    stack: &stack.name,
                    address,
                    name,
                    parent: parent.as_ref(),
                    spec: stack.resources.get(&address.resource()).map(|d| &d.spec),
                    // Adopting is for `up`: a destroy leaves what it never owned alone.
                    adopt: match (mode, &address.part) {
                        (Mode::Apply, None) => {
                            stack.resources.get(address).and_then(|d| d.spec.adopt())
                        }
                        _ => None,
                    },
                };
                resource::read(aws, &target).await
            };
            (address.clone(), name.clone(), result)
        }));
        let reads = if parts {
            reads.await
        } else {
            let declared: Vec<String> = names_by_address.values().cloned().collect();
            let (reads, found) = tokio::join!(reads, resource::find_tagged(aws, stack, &declared));
            tagged = found;
            reads
        };
        for (address, name, result) in reads {
            match result {
                Ok(l) => {
                    if let Some(l) = &l {
                        lives.insert((address.clone(), name.clone()), l.clone());
                        if l.ownership.claimed() {
                            values.outputs.insert(address.clone(), l.outputs.clone());
                        }
                    }
                    live.insert(address, l);
                }
                Err(e) => errors.push(format!("{address} ({}): {e}", stack.location(&address))),
            }
        }
    }
    let tagged = match tagged {
        Ok(t) => t,
        // Without tag:GetResources the declared resources can still be planned;
        // only resources removed from the stack file go unseen, so say so.
        Err(resource::Error::Aws {
            code: Some(code), ..
        }) if code.contains("AccessDenied") => {
            eprintln!(
                "warning: tag:GetResources was denied ({code}); resources this stack owns but no longer declares cannot be found, so they are not planned for deletion"
            );
            Vec::new()
        }
        Err(e) => {
            return Err(Failure(format!(
                "cannot list the stack's tagged resources: {e}"
            )))
        }
    };
    // Tagged as ours somewhere other than the desired name: read each and check.
    let elsewhere = join_all(
        tagged
            .into_iter()
            .filter(|(address, name)| names_by_address.get(address) != Some(name))
            .map(|(address, name)| async move {
                let target = Target {
                    stack: &stack.name,
                    address: &address,
                    name: &name,
                    parent: None,
                    spec: None,
                    adopt: None,
                };
                let r = resource::read(aws, &target).await;
                (address, name, r)
            }),
    )
    .await;
    let mut tagged_elsewhere = Vec::new();
    for (address, name, result) in elsewhere {
        match result {
            Ok(Some(l)) if l.ownership == Ownership::Ours => {
                lives.insert((address, name), l.clone());
                tagged_elsewhere.push(l);
            }
            Ok(_) => {}
            Err(e) => errors.push(format!("{address} ({name}): {e}")),
        }
    }
    if !errors.is_empty() {
        return Err(Failure(format!(
            "reading live state failed:\n  {}",
            errors.join("\n  ")
        )));
    }

    let mut desired = Vec::new();
    for (address, name) in &names_by_address {
        desired.push(
            desired_for(stack, aws, address, name, &values)
                .map_err(|e| Failure(format!("{address} ({}): {e}", stack.location(address))))?,
        );
    }
    let fingerprint = fingerprint_of(stack, aws, &live, &tagged_elsewhere);
    let input = Input {
        stack: stack.name.clone(),
        mode,
        desired,
        live,
        tagged_elsewhere,
    };
    Ok((plan::plan(&input), Reads { lives, fingerprint }))
}

/// The digests of everything a plan is made from: the stack's files, where
/// it runs, and every live read.
fn fingerprint_of(
    stack: &Stack,
    aws: &Aws,
    live: &BTreeMap<Address, Option<Live>>,
    tagged_elsewhere: &[Live],
) -> Fingerprint {
    let files = stack
        .sources
        .sources
        .iter()
        .map(|(path, text)| {
            (
                fingerprint::file_key(&stack.file, path),
                fingerprint::sha256(text.as_bytes()),
            )
        })
        .collect();
    let mut reads: BTreeMap<String, String> = live
        .iter()
        .map(|(address, l)| (address.to_string(), fingerprint::live_digest(l.as_ref())))
        .collect();
    for l in tagged_elsewhere {
        reads.insert(
            format!("{}@{}", l.address, l.physical_name),
            fingerprint::live_digest(Some(l)),
        );
    }
    Fingerprint::new(&aws.account_id, &aws.region, files, reads)
}

async fn plan_command(g: &GlobalArgs, args: &PlanArgs) -> Result<ExitCode> {
    let mode = if args.destroy {
        Mode::Destroy
    } else {
        Mode::Apply
    };
    let (_, _, plan, reads) = prepare(g, mode).await?;
    if args.json {
        emit(&render::json::to_string(&plan, Some(&reads.fingerprint)))?;
    } else if args.markdown {
        emit(&render::markdown::plan(&plan))?;
    } else {
        emit(&render::human::plan(
            &plan,
            render::stdout_color(g.no_color),
        ))?;
    }
    if let Some(out) = &args.out {
        std::fs::write(
            out,
            render::json::to_string(&plan, Some(&reads.fingerprint)),
        )
        .map_err(|e| Failure(format!("cannot write the plan to {}: {e}", out.display())))?;
        let command = match mode {
            Mode::Apply => "up",
            Mode::Destroy => "destroy",
        };
        eprintln!(
            "plan: saved to {}; apply exactly this plan with `mobile-backend {command} {}` (it refuses if the stack files or live state change before then)",
            out.display(),
            out.display()
        );
    }
    let conflicts = plan.conflicts().count();
    if conflicts > 0 {
        return Err(Failure(format!(
            "{conflicts} conflict{} with resources this stack does not own (see `! conflict` above); `up` would refuse this plan",
            if conflicts == 1 { "" } else { "s" }
        )));
    }
    Ok(if args.detailed_exitcode && plan.has_changes() {
        ExitCode::from(EXIT_CHANGES)
    } else {
        ExitCode::SUCCESS
    })
}

/// Loads and checks the stack, connects, reads live state and plans.
async fn prepare(g: &GlobalArgs, mode: Mode) -> Result<(Stack, Aws, Plan, Reads)> {
    let stack = load(g)?;
    let aws = connect(g, &stack).await?;
    let (plan, reads) = make_plan(&stack, &aws, mode).await?;
    Ok((stack, aws, plan, reads))
}

/// Reads the saved plan named on the command line.
fn read_saved(path: Option<&Path>) -> Result<Option<(PathBuf, Saved)>> {
    let Some(path) = path else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(path).map_err(|e| {
        Failure(format!(
            "cannot read the saved plan {}: {e}",
            path.display()
        ))
    })?;
    let saved = Saved::parse(&text).map_err(|why| {
        Failure(format!(
            "{} cannot be applied: {why}. Nothing was changed",
            path.display()
        ))
    })?;
    Ok(Some((path.to_path_buf(), saved)))
}

/// Applies a saved plan only if it is the plan made now from the same inputs.
fn check_saved(
    (path, saved): &(PathBuf, Saved),
    stack: &Stack,
    plan: &Plan,
    now: &Fingerprint,
) -> Result<()> {
    let file = path.display();
    if saved.stack != stack.name {
        return Err(Failure(format!(
            "{file} is a plan for stack `{}`, but {} is stack `{}`; pass the stack file it was made from. Nothing was changed",
            saved.stack,
            stack.file.display(),
            stack.name
        )));
    }
    if saved.mode != plan.mode {
        return Err(Failure(match saved.mode {
            Mode::Destroy => format!(
                "{file} is a destroy plan (`plan --destroy`); apply it with `mobile-backend destroy {file}`. Nothing was changed"
            ),
            Mode::Apply => format!(
                "{file} is a plan for `up`, not for `destroy`; apply it with `mobile-backend up {file}`. Nothing was changed"
            ),
        }));
    }
    let then = saved
        .fingerprint
        .as_ref()
        .ok_or_else(|| Failure(format!("{file} has no fingerprint")))?;
    let differences = then.differences(now);
    if !differences.is_empty() {
        let command = match plan.mode {
            Mode::Apply => "plan",
            Mode::Destroy => "plan --destroy",
        };
        return Err(Failure(format!(
            "the saved plan {file} is out of date; what it was made from has changed since:\n  - {}\nNothing was changed. Make a new plan with `mobile-backend {command} --out {file}`, review it, and apply that",
            differences.join("\n  - ")
        )));
    }
    let made_now = render::json::document(plan);
    if made_now.get("resource_changes") != Some(&saved.resource_changes) {
        return Err(Failure(format!(
            "the saved plan {file} is not the plan its inputs give (was the file edited?). Nothing was changed; make a new plan with `mobile-backend plan --out {file}`"
        )));
    }
    Ok(())
}

/// Asks on a terminal; refuses without one unless `--auto-approve`.
fn confirm(auto_approve: bool, question: &str) -> Result<()> {
    if auto_approve {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(Failure(
            "refusing to change AWS without confirmation: standard input is not a terminal. Review the plan above and pass --auto-approve. Nothing was changed".into(),
        ));
    }
    eprint!("{question} Only `yes` is accepted: ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .read_line(&mut answer)
        .map_err(|e| Failure(format!("cannot read the answer: {e}")))?;
    if answer.trim() == "yes" {
        Ok(())
    } else {
        Err(Failure("cancelled; nothing was changed".into()))
    }
}

/// [`confirm`] off the async threads, so Ctrl-C during the question is seen.
async fn ask(auto_approve: bool, question: String) -> Result<()> {
    tokio::task::spawn_blocking(move || confirm(auto_approve, &question))
        .await
        .map_err(|e| Failure(format!("cannot ask for confirmation: {e}")))?
}

/// Resolves with the name of the first Ctrl-C or SIGTERM; never without one.
async fn interrupted() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = tokio::signal::ctrl_c() => "Ctrl-C",
                _ = term.recv() => "SIGTERM",
            },
            Err(_) => match tokio::signal::ctrl_c().await {
                Ok(()) => "Ctrl-C",
                Err(_) => std::future::pending().await,
            },
        }
    }
    #[cfg(not(unix))]
    {
        match tokio::signal::ctrl_c().await {
            Ok(()) => "Ctrl-C",
            Err(_) => std::future::pending().await,
        }
    }
}

/// Runs `work` holding the stack's lock, and releases it however `work` ends:
/// done, failed, or interrupted by Ctrl-C or SIGTERM.
async fn locked<F>(
    aws: &Aws,
    stack: &Stack,
    command: &str,
    timeout: Option<Duration>,
    work: F,
) -> Result<ExitCode>
where
    F: std::future::Future<Output = Result<ExitCode>>,
{
    let lock = tokio::select! {
        l = lock::acquire(aws, &stack.name, command, timeout.unwrap_or(Duration::ZERO)) => l.map_err(Failure)?,
        signal = interrupted() => return Err(Failure(format!("{command} interrupted by {signal} while waiting for the stack lock; nothing was changed"))),
    };
    let result = tokio::select! {
        r = work => r,
        signal = interrupted() => Err(Failure(format!(
            "{command} interrupted by {signal}: steps in flight were abandoned and the stack lock was released. Run `mobile-backend {command}` again; it continues from what exists now"
        ))),
    };
    lock.release().await;
    result
}

async fn up(g: &GlobalArgs, args: &UpArgs) -> Result<ExitCode> {
    let saved = read_saved(args.plan_file.as_deref())?;
    let stack = load(g)?;
    let aws = connect(g, &stack).await?;
    let work = up_locked(g, args, &stack, &aws, saved.as_ref());
    locked(&aws, &stack, "up", args.lock_timeout, work).await
}

async fn up_locked(
    g: &GlobalArgs,
    args: &UpArgs,
    stack: &Stack,
    aws: &Aws,
    saved: Option<&(PathBuf, Saved)>,
) -> Result<ExitCode> {
    let (plan, reads) = make_plan(stack, aws, Mode::Apply).await?;
    if let Some(saved) = saved {
        check_saved(saved, stack, &plan, &reads.fingerprint)?;
    }
    let color = render::stdout_color(g.no_color);
    emit(&render::human::plan(&plan, color))?;
    if plan.conflicts().next().is_some() {
        return Err(Failure(format!(
            "up refused: {} resource{} conflict with resources this stack does not own (see `! conflict` above). Nothing was changed",
            plan.conflicts().count(),
            if plan.conflicts().count() == 1 { "" } else { "s" }
        )));
    }
    let guarded: Vec<&ResourceChange> = plan.guarded().collect();
    if !guarded.is_empty() && !args.allow_replace {
        let list: Vec<String> = guarded
            .iter()
            .map(|c| {
                format!(
                    "{} ({}): {}",
                    c.address,
                    stack.location(&c.address),
                    c.requires_allow_replace.as_deref().unwrap_or("")
                )
            })
            .collect();
        return Err(Failure(format!(
            "up refused: the plan replaces resources that hold data:\n  {}\nPass --allow-replace to accept the loss, or change the stack so they can be updated in place. Nothing was changed",
            list.join("\n  ")
        )));
    }
    if !plan.has_changes() {
        emit(&summary(&live_outputs(&plan, &reads)))?;
        return Ok(ExitCode::SUCCESS);
    }
    preflight(aws, stack, &plan, false).await?;
    ask(
        args.auto_approve,
        format!(
            "Apply these changes to stack `{}` in account {} ({})?",
            stack.name, aws.account_id, aws.region
        ),
    )
    .await?;
    let (report, outputs) = execute(stack, aws, &plan, reads, ApplyOptions::default()).await;
    let code = finish(&report, g, "up");
    if report.succeeded() {
        emit(&summary(&outputs))?;
    }
    code
}

async fn destroy(g: &GlobalArgs, args: &DestroyArgs) -> Result<ExitCode> {
    let saved = read_saved(args.plan_file.as_deref())?;
    let stack = load(g)?;
    let aws = connect(g, &stack).await?;
    let work = destroy_locked(g, args, &stack, &aws, saved.as_ref());
    locked(&aws, &stack, "destroy", args.lock_timeout, work).await
}

async fn destroy_locked(
    g: &GlobalArgs,
    args: &DestroyArgs,
    stack: &Stack,
    aws: &Aws,
    saved: Option<&(PathBuf, Saved)>,
) -> Result<ExitCode> {
    let (plan, reads) = make_plan(stack, aws, Mode::Destroy).await?;
    if let Some(saved) = saved {
        check_saved(saved, stack, &plan, &reads.fingerprint)?;
    }
    emit(&render::human::plan(
        &plan,
        render::stdout_color(g.no_color),
    ))?;
    if !plan.has_changes() {
        return Ok(ExitCode::SUCCESS);
    }
    preflight(aws, stack, &plan, args.empty_buckets).await?;
    ask(
        args.auto_approve,
        format!(
            "Delete everything stack `{}` owns in account {} ({})?",
            stack.name, aws.account_id, aws.region
        ),
    )
    .await?;
    let options = ApplyOptions {
        empty_buckets: args.empty_buckets,
    };
    let (report, _) = execute(stack, aws, &plan, reads, options).await;
    finish(&report, g, "destroy")
}

/// `unlock`: shows who holds the stack's lock and breaks it after asking.
async fn unlock(g: &GlobalArgs, args: &UnlockArgs) -> Result<ExitCode> {
    let stack = load(g)?;
    let aws = connect(g, &stack).await?;
    let table = lock::table_name();
    let Some(holder) = lock::holder(&aws, &stack.name).await.map_err(Failure)? else {
        emit(&format!(
            "stack `{}` is not locked (lock table `{table}` in account {}, {})\n",
            stack.name, aws.account_id, aws.region
        ))?;
        return Ok(ExitCode::SUCCESS);
    };
    emit(&format!(
        "stack `{}` is locked: {}\n",
        stack.name,
        holder.describe()
    ))?;
    let expired = holder.expired(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0),
    );
    if !expired && holder.process_gone() != Some(true) {
        eprintln!(
            "warning: its holder may still be running; if it is, breaking the lock lets another run apply stack `{}` at the same time",
            stack.name
        );
    }
    ask(
        args.auto_approve,
        format!("Break the lock of stack `{}`?", stack.name),
    )
    .await?;
    if lock::break_lock(&aws, &stack.name, &holder.lock_id)
        .await
        .map_err(Failure)?
    {
        emit(&format!("lock of stack `{}` broken\n", stack.name))?;
        Ok(ExitCode::SUCCESS)
    } else {
        Err(Failure(format!(
            "the lock of stack `{}` changed hands (or was released) while you decided; nothing was broken. Run `mobile-backend unlock` again to see who holds it now",
            stack.name
        )))
    }
}

/// Everything that would stop a step half-way, checked before the first
/// change: protected tables and (unless they may be emptied) buckets that
/// still hold objects.
async fn preflight(aws: &Aws, stack: &Stack, plan: &Plan, empty_buckets: bool) -> Result<()> {
    let removing = |c: &&ResourceChange| matches!(c.action, Action::Delete | Action::Replace);
    let mut blockers = Vec::new();
    for c in plan.resource_changes.iter().filter(removing) {
        let protected = c
            .before
            .as_ref()
            .and_then(|b| b.get("deletion_protection"))
            .and_then(serde_json::Value::as_bool)
            == Some(true);
        // Tables and user pools both refuse deletion while protected.
        if c.address.part.is_none() && protected {
            blockers.push(format!(
                "{} ({}): deletion protection is on; set `deletion_protection = false` in `[{}]` and run `up` first",
                c.address, c.physical_name, c.address
            ));
        }
    }
    // A replace was accepted with --allow-replace and empties its bucket.
    let buckets: Vec<&ResourceChange> = plan
        .resource_changes
        .iter()
        .filter(|c| c.action == Action::Delete && c.address.kind == stack::Kind::Bucket)
        .filter(|_| !empty_buckets)
        .collect();
    let probes = join_all(buckets.iter().map(|c| async move {
        (
            c,
            resource::bucket::holds_objects(aws, &c.physical_name).await,
        )
    }))
    .await;
    for (c, probe) in probes {
        match probe {
            Ok(Some(true)) => blockers.push(match plan.mode {
                Mode::Destroy => format!(
                    "{} ({}) still holds objects; pass --empty-buckets to delete every object, version and delete marker in it (this cannot be undone)",
                    c.address, c.physical_name
                ),
                Mode::Apply => format!(
                    "{} ({}) is no longer in the stack file but still holds objects, and `up` never deletes objects: put `[{}]` back to keep it, or empty it yourself and run `up` again",
                    c.address, c.physical_name, c.address
                ),
            }),
            Ok(_) => {}
            Err(e) => blockers.push(format!("{} ({}): {e}", c.address, c.physical_name)),
        }
    }
    if blockers.is_empty() {
        return Ok(());
    }
    let command = match plan.mode {
        Mode::Apply => "up",
        Mode::Destroy => "destroy",
    };
    Err(Failure(format!(
        "{command} refused before changing anything:\n  {}\nNothing was changed in stack `{}`",
        blockers.join("\n  "),
        stack.name
    )))
}

fn finish(report: &Report, g: &GlobalArgs, command: &str) -> Result<ExitCode> {
    let text = render::human::report(report, render::stdout_color(g.no_color), command);
    emit(&text)?;
    if report.succeeded() {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(Failure(format!(
            "{} step{} failed; see above",
            report.failed().count(),
            if report.failed().count() == 1 {
                ""
            } else {
                "s"
            }
        )))
    }
}

/// The values `up` ends with: what the tutorials tell you to copy.
fn summary(outputs: &BTreeMap<Address, resource::Outputs>) -> String {
    let text = crate::outputs::summary(outputs);
    if text.is_empty() {
        return text;
    }
    format!("\n{text}")
}

/// The outputs of the stack's resources as read, at the names the plan uses:
/// a renamed leftover's outputs are not the resource's.
fn live_outputs(plan: &Plan, reads: &Reads) -> BTreeMap<Address, resource::Outputs> {
    reads
        .lives
        .iter()
        .filter(|((address, name), l)| {
            l.ownership.claimed()
                && plan
                    .resource_changes
                    .iter()
                    .any(|c| &c.address == address && &c.physical_name == name)
        })
        .map(|((address, _), l)| (address.clone(), l.outputs.clone()))
        .collect()
}

/// Carries out the plan's steps through the resource layer, resolving each
/// resource's references with the outputs of what ran before it. Returns the
/// report and every resource's outputs afterwards.
async fn execute(
    stack: &Stack,
    aws: &Aws,
    plan: &Plan,
    reads: Reads,
    options: ApplyOptions,
) -> (Report, BTreeMap<Address, resource::Outputs>) {
    let outputs = live_outputs(plan, &reads);
    let values = Mutex::new(Values {
        account_id: aws.account_id.clone(),
        region: aws.region.clone(),
        outputs,
    });
    let lives = &reads.lives;
    let values = &values;
    let report = apply::walk(plan, apply::DEFAULT_CONCURRENCY, |change| async move {
        let started = Instant::now();
        let symbol = render::human::symbol(change.action);
        eprintln!(
            "{symbol} {} ({}): {}",
            change.address,
            change.physical_name,
            progressive(change.action)
        );
        let result = step(stack, aws, &change, lives, values, options).await;
        match &result {
            Ok(()) => eprintln!(
                "{symbol} {}: {} in {:.1}s",
                change.address,
                render::human::past(change.action),
                started.elapsed().as_secs_f64()
            ),
            Err(e) => eprintln!(
                "{symbol} {}: failed after {:.1}s: {e}",
                change.address,
                started.elapsed().as_secs_f64()
            ),
        }
        result.map_err(|e| format!("{e} [{}]", stack.location(&change.address)))
    })
    .await;
    let mut outputs = values.lock().map(|v| v.outputs.clone()).unwrap_or_default();
    // What was deleted has no outputs any more.
    for c in &plan.resource_changes {
        if c.action == Action::Delete {
            outputs.remove(&c.address);
        }
    }
    (report, outputs)
}

fn progressive(action: Action) -> &'static str {
    match action {
        Action::Create => "creating",
        Action::Update => "updating",
        Action::Replace => "replacing (delete, then create)",
        Action::Delete => "deleting",
        Action::NoOp => "checking",
    }
}

async fn step(
    stack: &Stack,
    aws: &Aws,
    change: &ResourceChange,
    lives: &BTreeMap<(Address, String), Live>,
    values: &Mutex<Values>,
    options: ApplyOptions,
) -> std::result::Result<(), String> {
    let address = &change.address;
    let live_named = |name: &str| {
        lives
            .get(&(address.clone(), name.to_string()))
            .ok_or_else(|| {
                format!("{address}: no live state was read for `{name}`; run `plan` again")
            })
    };
    let resolve = || -> std::result::Result<Desired, String> {
        let v = values
            .lock()
            .map_err(|_| "internal: values lock poisoned".to_string())?;
        let d = desired_for(stack, aws, address, &change.physical_name, &v)?;
        if plan::contains_unknown(&d.attributes) {
            return Err(format!(
                "{address}: a referenced value is still unknown after its resource was applied"
            ));
        }
        Ok(d)
    };
    // A part (client, group, role attachment) needs its resource's outputs.
    let parent = || -> Option<resource::Outputs> {
        address.part.as_ref()?;
        values
            .lock()
            .ok()?
            .outputs
            .get(&address.resource())
            .cloned()
    };
    let store = |outs: BTreeMap<String, String>| {
        if let Ok(mut v) = values.lock() {
            v.outputs.insert(address.clone(), outs);
        }
    };
    match change.action {
        Action::NoOp => Ok(()),
        Action::Create => {
            let desired = resolve()?;
            let outs = resource::create(aws, &desired, parent().as_ref())
                .await
                .map_err(|e| e.to_string())?;
            store(outs);
            Ok(())
        }
        Action::Update => {
            let desired = resolve()?;
            let live = live_named(&change.physical_name)?;
            let outs = resource::update(aws, &desired, live, parent().as_ref())
                .await
                .map_err(|e| e.to_string())?;
            store(outs);
            Ok(())
        }
        Action::Replace => {
            let old_name = change
                .previous_physical_name
                .as_deref()
                .unwrap_or(&change.physical_name);
            let live = live_named(old_name)?;
            // Replacing deletes data: the caller checked --allow-replace.
            let options = ApplyOptions {
                empty_buckets: true,
            };
            resource::delete(aws, live, options)
                .await
                .map_err(|e| e.to_string())?;
            let desired = resolve()?;
            let outs = resource::create(aws, &desired, parent().as_ref())
                .await
                .map_err(|e| e.to_string())?;
            store(outs);
            Ok(())
        }
        Action::Delete => {
            let live = live_named(&change.physical_name)?;
            resource::delete(aws, live, options)
                .await
                .map_err(|e| e.to_string())
        }
    }
}

/// `outputs`: every resource's outputs, read from live AWS (there is no
/// state file), as JSON, `KEY=value` lines, Swift constants, the AWS Mobile
/// SDK's `awsconfiguration.json` or Amplify's `amplify_outputs.json`; printed,
/// or written to `--write PATH`. Secrets are read, and shown, only with
/// `--include-secrets`.
async fn outputs_command(g: &GlobalArgs, args: &crate::cli::OutputsArgs) -> Result<ExitCode> {
    use crate::cli::OutputFormat;
    use crate::outputs;

    let (stack, aws, plan, reads) = prepare(g, Mode::Apply).await?;
    // Ours, at the name the plan uses, and still declared (a leftover the
    // plan would delete is no longer the stack's).
    let current: Vec<(&Address, &str)> = plan
        .resource_changes
        .iter()
        .filter(|c| c.action != Action::Delete)
        .map(|c| (&c.address, c.physical_name.as_str()))
        .collect();
    let lives: BTreeMap<Address, Live> = reads
        .lives
        .into_iter()
        .filter(|((address, name), l)| {
            l.ownership == Ownership::Ours && current.contains(&(address, name.as_str()))
        })
        .map(|((address, _), l)| (address, l))
        .collect();
    if lives.is_empty() {
        return Err(Failure(format!(
            "no resource of stack `{}` exists in account {} ({}), so there are no outputs: run `mobile-backend up` first",
            stack.name, aws.account_id, aws.region
        )));
    }
    let missing: Vec<String> = stack
        .steps
        .keys()
        .filter(|a| !lives.contains_key(*a))
        .map(|a| {
            match plan
                .resource_changes
                .iter()
                .find(|c| &c.address == a && c.conflict.is_some())
            {
                Some(c) => format!("{a} (`{}` belongs to someone else)", c.physical_name),
                None => a.to_string(),
            }
        })
        .collect();
    if !missing.is_empty() {
        eprintln!(
            "warning: not in AWS yet, so not in the outputs: {}; run `mobile-backend up` to create {}",
            missing.join(", "),
            if missing.len() == 1 { "it" } else { "them" }
        );
    }

    let secrets = if args.include_secrets {
        Some(read_secrets(&aws, &lives).await?)
    } else {
        None
    };
    let ctx = outputs::Context {
        stack: &stack.name,
        account_id: &aws.account_id,
        region: &aws.region,
    };
    let (render, what): (fn(_, _, _) -> outputs::Rendered, &str) = match args.format {
        OutputFormat::Json => (outputs::json, "outputs (JSON)"),
        OutputFormat::Env => (outputs::env, "outputs (KEY=value lines)"),
        OutputFormat::Swift => (outputs::swift, "Swift constants"),
        OutputFormat::Awsconfiguration => (outputs::awsconfiguration, "awsconfiguration.json"),
        OutputFormat::Amplify => (outputs::amplify, "amplify_outputs.json"),
    };
    let rendered = render(&ctx, &lives, secrets.as_ref());
    for note in &rendered.notes {
        eprintln!("note: {note}");
    }
    match &args.write {
        None => emit(&rendered.text)?,
        Some(path) => {
            write_outputs(path, &rendered.text, rendered.holds_secrets)?;
            eprintln!(
                "wrote the {what} of stack `{}` to {}{}",
                stack.name,
                path.display(),
                if rendered.holds_secrets {
                    " (it holds secrets: readable by you only; keep it out of version control)"
                } else {
                    ""
                }
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Client secrets and API key values of the live resources: one read per app
/// client that has a secret and per API key, all at once.
async fn read_secrets(
    aws: &Aws,
    lives: &BTreeMap<Address, Live>,
) -> Result<crate::outputs::Secrets> {
    let of = |t: ResourceType| -> Vec<&Live> {
        lives
            .values()
            .filter(|l| ResourceType::of(&l.address) == t)
            .collect()
    };
    let (clients, apis) = (of(ResourceType::UserPoolClient), of(ResourceType::Api));
    let (client_secrets, api_keys) = tokio::join!(
        join_all(
            clients
                .iter()
                .map(|l| resource::user_pool_client::secret(aws, l))
        ),
        join_all(apis.iter().map(|l| resource::api::secrets(aws, l))),
    );
    let mut secrets = crate::outputs::Secrets::default();
    let mut errors = Vec::new();
    for (l, read) in clients.iter().zip(client_secrets) {
        match read {
            Ok(Some(secret)) => {
                secrets.client_secrets.insert(l.address.clone(), secret);
            }
            Ok(None) => {}
            Err(e) => errors.push(format!("{} ({}): {e}", l.address, l.physical_name)),
        }
    }
    for (l, read) in apis.iter().zip(api_keys) {
        match read {
            Ok(keys) if keys.is_empty() => {}
            Ok(keys) => {
                secrets.api_keys.insert(l.address.clone(), keys);
            }
            Err(e) => errors.push(format!("{} ({}): {e}", l.address, l.physical_name)),
        }
    }
    if !errors.is_empty() {
        return Err(Failure(format!(
            "cannot read the secrets --include-secrets asks for:\n  {}\nCheck the permissions (cognito-idp:DescribeUserPoolClient, apigateway:GET on the API keys), or run without --include-secrets",
            errors.join("\n  ")
        )));
    }
    Ok(secrets)
}

/// Writes an outputs file; one that holds secrets is readable by its owner
/// only (mode 0600 on unix), set before anything is written to it.
fn write_outputs(path: &Path, text: &str, holds_secrets: bool) -> Result<()> {
    let fail = |e: std::io::Error| {
        Failure(format!(
            "cannot write the outputs to {}: {e}; check that its directory exists and is writable",
            path.display()
        ))
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(not(unix))]
    let _ = holds_secrets;
    #[cfg(unix)]
    if holds_secrets {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(fail)?;
    // A file that existed keeps its mode through `open`: narrow it first.
    #[cfg(unix)]
    if holds_secrets {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(fail)?;
    }
    file.write_all(text.as_bytes())
        .and_then(|_| file.flush())
        .map_err(fail)
}

/// `init`: writes a template's stack file and policies to DIR (default the
/// current directory). The stack is checked with the loader before anything
/// is written, and no file is ever overwritten: if one exists, nothing is
/// written at all.
fn init(g: &GlobalArgs, args: &crate::cli::InitArgs) -> Result<ExitCode> {
    use crate::cli::Template as Choice;
    use crate::templates;

    let template = match args.template {
        Choice::SwiftStarter => &templates::SWIFT_STARTER,
        Choice::PhotoNotes => &templates::PHOTO_NOTES,
        Choice::UserPool => &templates::USER_POOL,
    };
    let dir = &args.dir;
    if dir.exists() && !dir.is_dir() {
        return Err(Failure(format!(
            "{} is not a directory; name the directory to write the stack to",
            dir.display()
        )));
    }
    let (name, why) = match &args.name {
        Some(name) if templates::is_stack_name(name) => (name.clone(), "from --name".to_string()),
        Some(name) => {
            return Err(Failure(format!(
                "`{name}` is not a valid stack name: 1 to 40 characters of a-z, 0-9 and `-`, starting with a letter{}",
                templates::stack_name_from(name)
                    .map(|n| format!("; `{n}` would do"))
                    .unwrap_or_default()
            )))
        }
        None => {
            let dir_name = std::fs::canonicalize(dir)
                .or_else(|_| std::path::absolute(dir))
                .ok()
                .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()));
            match (dir_name.as_deref().and_then(templates::stack_name_from), &dir_name) {
                (Some(name), Some(dir_name)) if &name == dir_name => (
                    name,
                    "the directory's name; pass --name to choose another".to_string(),
                ),
                (Some(name), Some(dir_name)) => (
                    name,
                    format!("made from the directory's name `{dir_name}`; pass --name to choose another"),
                ),
                _ => (
                    template.name.to_string(),
                    "the template's name, as the directory's name gives none; pass --name to choose another"
                        .to_string(),
                ),
            }
        }
    };

    let files = template.render(&name);
    templates::check(&files).map_err(|e| {
        Failure(format!(
            "the `{}` template does not validate as stack `{name}`, so nothing was written (a shorter --name may help):\n{e}",
            template.name
        ))
    })?;
    let existing = templates::existing(dir, &files);
    if !existing.is_empty() {
        return Err(Failure(format!(
            "init refuses to overwrite {}; nothing was written. Choose another directory or --name, or move {} away",
            existing
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            if existing.len() == 1 { "it" } else { "them" }
        )));
    }
    templates::write_new(dir, &files).map_err(|e| Failure(format!("{e}; nothing was written")))?;

    let here = dir.as_os_str().is_empty() || dir == Path::new(".");
    let width = files
        .iter()
        .map(|f| f.path.display().to_string().len())
        .max()
        .unwrap_or(0);
    let mut text = format!("stack name `{name}` ({why})\n");
    text.push_str(&format!(
        "wrote the {} template to {}:\n",
        template.name,
        if here {
            "the current directory".to_string()
        } else {
            dir.display().to_string()
        }
    ));
    for f in &files {
        text.push_str(&format!(
            "  {:<width$}  {}\n",
            f.path.display().to_string(),
            f.what
        ));
    }
    // `validate` finds the stack alone when it is the only one in `stacks/`
    // and nothing else names one.
    let stack_file = templates::stack_file(&name);
    let alone = std::fs::read_dir(dir.join("stacks"))
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter(|e| e.path().extension().is_some_and(|x| x == "toml"))
                .count()
                == 1
        })
        .unwrap_or(false);
    let stack_flag = if alone && g.stack.is_none() {
        String::new()
    } else {
        format!(" --stack {}", stack_file.display())
    };
    text.push_str("\nnext:\n");
    if !here {
        text.push_str(&format!(
            "  cd {}\n",
            shell_word(&dir.display().to_string())
        ));
    }
    for (command, what) in [
        ("validate", "offline checks; never calls AWS"),
        ("plan", "what `up` would create, read from live AWS"),
        ("up", "create it (shows the plan and asks first)"),
    ] {
        let line = format!("mobile-backend {command}{stack_flag}");
        text.push_str(&format!(
            "  {line:<width$}  # {what}\n",
            width = 24 + stack_flag.len()
        ));
    }
    text.push_str(
        "editor help: `mobile-backend schema > mobile-backend.schema.json`, then see the stack file's first lines\n",
    );
    emit(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// A word as a POSIX shell reads it: quoted only when it has to be.
fn shell_word(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./-+:@%".contains(c))
    {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// `adopt`: scans the account and region and writes a stack file (and its
/// policy files) that adopts what it finds. Never overwrites a file; checks
/// every path before writing any.
async fn adopt_command(g: &GlobalArgs, args: &crate::cli::AdoptArgs) -> Result<ExitCode> {
    use crate::adopt;

    let settings = Settings {
        region: g.region.clone(),
        stack_region: None,
        profile: g.profile.clone(),
        endpoint_url: g.endpoint_url.clone(),
    };
    // Refuse before scanning when the stack file exists already.
    if let Some(path) = &args.write {
        if path.exists() {
            return Err(Failure(format!(
                "adopt refuses to overwrite {}; nothing was written. Name a new file, or move it away",
                path.display()
            )));
        }
    }
    let aws = Aws::connect(&settings).await.map_err(Failure)?;
    let request = adopt::Request {
        name_prefix: args.name_prefix.clone(),
        includes: args.include.clone(),
        stack_name: args.stack_name.clone(),
    };
    let scan = adopt::scan(&aws, &request).await.map_err(Failure)?;
    if scan.found.is_empty() {
        return Err(Failure(format!(
            "found nothing to adopt in account {} ({}){}; check --region and --name-prefix, or name resources with --include kind.key=id",
            aws.account_id,
            aws.region,
            args.name_prefix
                .as_deref()
                .map(|p| format!(" named `{p}...`"))
                .unwrap_or_default()
        )));
    }
    let (policies_dir, relative) = match &args.write {
        Some(path) => adopt::policies_dir(path),
        None => (PathBuf::from("policies"), "../policies/".to_string()),
    };
    let ctx = adopt::Context {
        partition: aws.partition.clone(),
        region: aws.region.clone(),
        policies_dir: relative.clone(),
    };
    let rendered = adopt::render(&scan.stack, &scan.found, &ctx, scan.notes);
    for note in &rendered.notes {
        eprintln!("not expressed: {note}");
    }
    let list: Vec<String> = scan
        .found
        .iter()
        .map(|f| format!("{} (`{}`)", f.address, f.id))
        .collect();
    eprintln!(
        "adopting {} resource{} into stack `{}`: {}",
        list.len(),
        if list.len() == 1 { "" } else { "s" },
        scan.stack,
        list.join(", ")
    );
    let Some(path) = &args.write else {
        let mut text = rendered.stack.clone();
        for f in &rendered.files {
            text.push_str(&format!(
                "\n# --- {} (written with --write) ---\n",
                f.relative
            ));
            for line in f.text.lines() {
                text.push_str(&format!("# {line}\n"));
            }
        }
        emit(&text)?;
        if !rendered.files.is_empty() {
            eprintln!("note: the policy documents are printed as comments; pass --write FILE to write them as files");
        }
        return Ok(ExitCode::SUCCESS);
    };
    let targets: Vec<(PathBuf, &str)> = rendered
        .files
        .iter()
        .map(|f| {
            let rest = f.relative.strip_prefix(&relative).unwrap_or(&f.relative);
            (policies_dir.join(rest), f.text.as_str())
        })
        .collect();
    let existing: Vec<String> = targets
        .iter()
        .filter(|(p, _)| p.exists())
        .map(|(p, _)| p.display().to_string())
        .collect();
    if !existing.is_empty() {
        return Err(Failure(format!(
            "adopt refuses to overwrite {}; nothing was written. Move {} away, or write the stack elsewhere",
            existing.join(", "),
            if existing.len() == 1 { "it" } else { "them" }
        )));
    }
    let write_new = |p: &Path, text: &str| -> Result<()> {
        if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| Failure(format!("cannot create {}: {e}", dir.display())))?;
        }
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(p)
            .map_err(|e| Failure(format!("cannot write {}: {e}", p.display())))?;
        file.write_all(text.as_bytes())
            .map_err(|e| Failure(format!("cannot write {}: {e}", p.display())))
    };
    write_new(path, &rendered.stack)?;
    let mut written = vec![path.display().to_string()];
    for (p, text) in &targets {
        write_new(p, text)?;
        written.push(p.display().to_string());
    }
    let mut text = format!("wrote stack `{}`:\n", scan.stack);
    for w in &written {
        text.push_str(&format!("  {w}\n"));
    }
    text.push_str(&format!(
        "next: `mobile-backend validate --stack {p}`, then `mobile-backend plan --stack {p}` (only the ownership tags are added), then `up`\n",
        p = shell_word(&path.display().to_string())
    ));
    emit(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// `schema`: the JSON Schema of the stack file (draft-07), generated from the
/// types the loader parses each table into.
fn schema_command() -> Result<ExitCode> {
    emit(&crate::json_schema::render())?;
    Ok(ExitCode::SUCCESS)
}

/// `completions SHELL`: the completion script clap_complete generates from
/// the command-line definition.
fn completions(args: &crate::cli::CompletionsArgs) -> Result<ExitCode> {
    use crate::cli::Shell as Choice;
    use clap::CommandFactory;
    use clap_complete::Shell;

    let shell = match args.shell {
        Choice::Bash => Shell::Bash,
        Choice::Zsh => Shell::Zsh,
        Choice::Fish => Shell::Fish,
        Choice::Powershell => Shell::PowerShell,
    };
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "mobile-backend", &mut script);
    emit(&String::from_utf8_lossy(&script))?;
    Ok(ExitCode::SUCCESS)
}

/// `man`: the man page (roff) clap_mangen generates from the command-line
/// definition; with `--out-dir DIR`, `mobile-backend.1` and one page per
/// command written to DIR (replacing earlier ones: they are generated).
fn man(args: &crate::cli::ManArgs) -> Result<ExitCode> {
    use clap::CommandFactory;
    use clap_mangen::Man;

    let mut command = Cli::command().disable_help_subcommand(true);
    command.build();
    let Some(dir) = &args.out_dir else {
        let mut page = Vec::new();
        Man::new(command)
            .render(&mut page)
            .map_err(|e| Failure(format!("cannot render the man page: {e}")))?;
        emit(&String::from_utf8_lossy(&page))?;
        return Ok(ExitCode::SUCCESS);
    };
    let fail = |e: std::io::Error| {
        Failure(format!(
            "cannot write the man pages to {}: {e}",
            dir.display()
        ))
    };
    std::fs::create_dir_all(dir).map_err(fail)?;
    let mut pages = vec![Man::new(command.clone())];
    pages.extend(
        command
            .get_subcommands()
            .filter(|c| !c.is_hide_set())
            .cloned()
            .map(Man::new),
    );
    let mut written = String::new();
    for page in pages {
        let path = page.generate_to(dir).map_err(fail)?;
        written.push_str(&format!("wrote {}\n", path.display()));
    }
    emit(&written)?;
    Ok(ExitCode::SUCCESS)
}
