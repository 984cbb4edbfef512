//! Reading live state and making the plan: physical names, concurrent reads
//! of the declared resources and of tagged leftovers, the desired state with
//! references resolved, and the fingerprint a saved plan is checked against.

use std::collections::BTreeMap;

use futures::future::join_all;

use super::load::{clients, load};
use super::{Failure, Result};
use crate::aws::Aws;
use crate::cli::GlobalArgs;
use crate::plan::fingerprint::{self, Fingerprint};
use crate::plan::{self, Input, Mode, Plan};
use crate::resource::{self, Desired, DesiredContext, Live, Ownership, PlanTarget, Target};
use crate::stack::reference::{Reference, UNKNOWN};
use crate::stack::{Address, Lookup, Stack, Tags};

/// Values references resolve to: the context and the outputs known so far.
pub(super) struct Values {
    pub(super) account_id: String,
    pub(super) region: String,
    pub(super) outputs: BTreeMap<Address, BTreeMap<String, String>>,
}

impl Lookup for Values {
    fn value(&self, reference: &Reference) -> Option<String> {
        match reference {
            Reference::AwsAccountId => Some(self.account_id.clone()),
            Reference::AwsRegion => Some(self.region.clone()),
            // The stack answers these itself.
            Reference::StackName | Reference::StackStage | Reference::Var(_) => None,
            Reference::Resource { address, attribute } => self
                .outputs
                .get(address)
                .and_then(|o| o.get(attribute))
                .cloned(),
        }
    }
}

/// What a plan was made from, kept for applying it.
pub(super) struct Reads {
    /// Every resource read, by (address, physical name).
    pub(super) lives: BTreeMap<(Address, String), Live>,
    /// Digests of the plan's inputs, for saved plans.
    pub(super) fingerprint: Fingerprint,
}

pub(super) fn desired_for(
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
pub(super) async fn make_plan(stack: &Stack, aws: &Aws, mode: Mode) -> Result<(Plan, Reads)> {
    let mut values = Values {
        account_id: aws.account_id.clone(),
        region: aws.region.clone(),
        outputs: BTreeMap::new(),
    };
    let names_by_address = physical_names(stack, &values)?;
    // One answer per shared listing for all of the plan's reads.
    let retained = resource::flight::retain(aws);
    let (mut found, tagged) = read_declared(stack, aws, mode, &names_by_address, &mut values).await;
    let tagged = tagged_or_warning(tagged)?;
    let tagged_elsewhere =
        read_tagged_elsewhere(stack, aws, tagged, &names_by_address, &mut found).await;
    drop(retained);
    if !found.errors.is_empty() {
        return Err(Failure(format!(
            "reading live state failed:\n  {}",
            found.errors.join("\n  ")
        )));
    }

    let desired = desired_all(stack, aws, &names_by_address, &values)?;
    let Found { live, lives, .. } = found;
    let fingerprint = fingerprint_of(stack, aws, &live, &tagged_elsewhere);
    let input = Input {
        stack: stack.name.clone(),
        stage: stack.stage.clone(),
        mode,
        desired,
        live,
        tagged_elsewhere,
    };
    Ok((plan::plan(&input), Reads { lives, fingerprint }))
}

/// Every address's physical name, checked. Physical names may use only the
/// context, never another resource's value.
fn physical_names(stack: &Stack, values: &Values) -> Result<BTreeMap<Address, String>> {
    let mut names_by_address = BTreeMap::new();
    for address in stack.steps.keys() {
        let name = stack
            .physical_name(address, values)
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
    Ok(names_by_address)
}

/// What the live reads found so far.
#[derive(Default)]
struct Found {
    /// At the name the stack wants, by address: what the plan compares.
    live: BTreeMap<Address, Option<Live>>,
    /// Every resource read, by (address, physical name).
    lives: BTreeMap<(Address, String), Live>,
    /// The reads that failed, each with where it is declared.
    errors: Vec<String>,
}

/// The search for resources tagged as the stack's: (address, physical name).
type Tagged = std::result::Result<Vec<(Address, String)>, resource::Error>;

/// Reads every declared resource at its name, all at once, with the search
/// for tagged leftovers; the parts of a resource (which need its id) as soon
/// as that resource is read, not after every other resource. The outputs of
/// what is claimed go into `values`.
async fn read_declared(
    stack: &Stack,
    aws: &Aws,
    mode: Mode,
    names_by_address: &BTreeMap<Address, String>,
    values: &mut Values,
) -> (Found, Tagged) {
    // What the plan's reads share: the tagging API's one listing (the search
    // for leftovers needs it, and the reads of the kinds it covers take it as
    // a shortcut for their own tag read when it reports the tags the stack
    // wants: `resource::tags_as_listed`, never for `destroy`), and lists a
    // resource's read starts for its parts.
    let plan_reads = resource::PlanReads::new(&stack.name, names_by_address.keys());
    let desired_tags: BTreeMap<&Address, Tags> = match mode {
        Mode::Destroy => BTreeMap::new(),
        Mode::Apply => names_by_address
            .keys()
            .filter(|a| a.part.is_none())
            .filter_map(|a| {
                let spec = stack.resolve_spec(a, &*values).ok()?;
                Some((a, stack.tags_for(a, spec.tags())))
            })
            .collect(),
    };
    let (reads, desired_tags) = (&plan_reads, &desired_tags);
    let plan_target = |address: &Address| PlanTarget {
        reads,
        desired_tags: desired_tags.get(address),
    };
    let reads_done = join_all(
        names_by_address
            .iter()
            .filter(|(a, _)| a.part.is_none())
            .map(|(address, name)| async move {
                let plan = Some(plan_target(address));
                let read = read_one(stack, aws, mode, address, name, None, plan).await;
                let parent = match &read.2 {
                    Ok(Some(l)) if l.ownership.claimed() => Some(l.outputs.clone()),
                    _ => None,
                };
                let parent = &parent;
                let parts = join_all(
                    names_by_address
                        .iter()
                        .filter(|(a, _)| a.part.is_some() && a.resource() == *address)
                        .map(|(part, name)| {
                            let plan = Some(plan_target(part));
                            read_one(stack, aws, mode, part, name, parent.clone(), plan)
                        }),
                )
                .await;
                std::iter::once(read).chain(parts).collect::<Vec<_>>()
            }),
    );
    let declared: Vec<String> = names_by_address.values().cloned().collect();
    let (reads, tagged) = tokio::join!(
        reads_done,
        resource::find_tagged(aws, stack, &declared, reads)
    );
    let mut found = Found::default();
    for (address, name, result) in reads.into_iter().flatten() {
        match result {
            Ok(l) => {
                if let Some(l) = &l {
                    found
                        .lives
                        .insert((address.clone(), name.clone()), l.clone());
                    if l.ownership.claimed() {
                        values.outputs.insert(address.clone(), l.outputs.clone());
                    }
                }
                found.live.insert(address, l);
            }
            Err(e) => found
                .errors
                .push(format!("{address} ({}): {e}", stack.location(&address))),
        }
    }
    (found, tagged)
}

/// Reads one declared resource or part at the name the stack wants.
async fn read_one(
    stack: &Stack,
    aws: &Aws,
    mode: Mode,
    address: &Address,
    name: &String,
    parent: Option<resource::Outputs>,
    plan: Option<PlanTarget<'_>>,
) -> (
    Address,
    String,
    std::result::Result<Option<Live>, resource::Error>,
) {
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
                (Mode::Apply, None) => stack.resources.get(address).and_then(|d| d.spec.adopt()),
                _ => None,
            },
            dir: stack.file.parent(),
            plan,
        };
        resource::read(aws, &target).await
    };
    (address.clone(), name.clone(), result)
}

/// The tagged resources found, or none with a warning when the search was
/// denied.
fn tagged_or_warning(tagged: Tagged) -> Result<Vec<(Address, String)>> {
    match tagged {
        Ok(t) => Ok(t),
        // Without tag:GetResources the declared resources can still be planned;
        // only resources removed from the stack file go unseen, so say so.
        Err(resource::Error::Aws {
            code: Some(code), ..
        }) if code.contains("AccessDenied") => {
            eprintln!(
                "warning: tag:GetResources was denied ({code}); resources this stack owns but no longer declares cannot be found, so they are not planned for deletion"
            );
            Ok(Vec::new())
        }
        Err(e) => Err(Failure(format!(
            "cannot list the stack's tagged resources: {e}"
        ))),
    }
}

/// Tagged as ours somewhere other than the desired name: reads each and
/// keeps what is really ours.
async fn read_tagged_elsewhere(
    stack: &Stack,
    aws: &Aws,
    tagged: Vec<(Address, String)>,
    names_by_address: &BTreeMap<Address, String>,
    found: &mut Found,
) -> Vec<Live> {
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
                    dir: None,
                    plan: None,
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
                found.lives.insert((address, name), l.clone());
                tagged_elsewhere.push(l);
            }
            Ok(_) => {}
            Err(e) => found.errors.push(format!("{address} ({name}): {e}")),
        }
    }
    tagged_elsewhere
}

/// The desired state of every address, references resolved with what was read.
fn desired_all(
    stack: &Stack,
    aws: &Aws,
    names_by_address: &BTreeMap<Address, String>,
    values: &Values,
) -> Result<Vec<Desired>> {
    let mut desired = Vec::new();
    for (address, name) in names_by_address {
        desired.push(
            desired_for(stack, aws, address, name, values)
                .map_err(|e| Failure(format!("{address} ({}): {e}", stack.location(address))))?,
        );
    }
    Ok(desired)
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

/// Loads and checks the stack, connects, reads live state and plans, for
/// the commands that take no stack lock (`plan`, `outputs`). While STS is
/// asked who we are, the listings the plan reads first and which need no
/// account id are asked for too, and kept for the plan's reads
/// (`resource::warm`): the reads start one round trip sooner. (`up` and
/// `destroy` take the lock first, and read nothing before they hold it.)
pub(super) async fn prepare(g: &GlobalArgs, mode: Mode) -> Result<(Stack, Aws, Plan, Reads)> {
    let stack = load(g)?;
    let mut aws = clients(g, &stack).await?;
    let kept = resource::flight::retain(&aws);
    let (identity, ()) = tokio::join!(aws.identify(), resource::warm(&aws, &stack));
    aws.set_identity(identity.map_err(Failure)?);
    let planned = make_plan(&stack, &aws, mode).await;
    drop(kept);
    let (plan, reads) = planned?;
    Ok((stack, aws, plan, reads))
}

/// The outputs of the stack's resources as read, at the names the plan uses:
/// a renamed leftover's outputs are not the resource's.
pub(super) fn live_outputs(plan: &Plan, reads: &Reads) -> BTreeMap<Address, resource::Outputs> {
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
