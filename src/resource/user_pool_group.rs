//! `user_pool.<key>.groups.<name>` — a group of a user pool, its own step
//! after the pool (and after its role, when the role is one of the stack's).
//!
//! Group names are unique within a pool and groups cannot be tagged: a group
//! is ours when it lives in our pool under the desired name (read with
//! `ListGroups`, which returns every field `GetGroup` does: one listing per
//! pool serves the reads of all its groups in flight at once).
//! Description, precedence and role change in place with `UpdateGroup`,
//! which is sent every managed field. `role` names a `[role.<key>]` of the
//! stack (its ARN, known once it exists), an ARN as written, or else an
//! existing role by name.

use aws_sdk_cognitoidentityprovider::operation::update_group::builders::UpdateGroupFluentBuilder;
use schemars::JsonSchema;
use std::collections::BTreeMap;

use aws_sdk_cognitoidentityprovider::types::GroupType;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::registry::{PartStep, Step};
use super::{Change, Desired, DesiredContext, Error, Live, Outputs, Ownership, Target};
use crate::adopt;
use crate::aws::{error_code, Aws};
use crate::stack::reference::UNKNOWN;
use crate::stack::{Address, Kind};

// ------------------------------------------------------------ schema ----

/// A group of a user pool.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPoolGroupSpec {
    /// What the group is for.
    #[serde(default)]
    pub description: Option<String>,
    /// Which group's role wins when a user is in several: the lowest number.
    #[serde(default)]
    pub precedence: Option<i64>,
    /// A `[role.<key>]` of this stack, or the name or ARN of an existing role.
    #[serde(default)]
    pub role: Option<String>,
}

pub(crate) const ATTRIBUTES: &[(&str, Change)] = &[
    // A group's name cannot change.
    ("name", Change::Replace),
    ("description", Change::Update),
    ("precedence", Change::Update),
    ("role_arn", Change::Update),
];

/// What AWS fills in when the stack leaves it unset
/// ([`super::ResourceType::defaulted`]): nothing; a group created without a
/// description, precedence or role has none.
pub(crate) const DEFAULTED: &[&str] = &[];

/// `user_pool.<key>.groups.<name>`: a group of a user pool.
pub(crate) struct GroupPart;

impl PartStep for GroupPart {
    const PART: &'static str = "groups";

    /// A group's name is its key.
    fn physical_name<'s>(
        _spec: &'s Self::Spec,
        _part: &crate::stack::Part,
    ) -> super::registry::PartName<'s> {
        super::registry::PartName::Key
    }
}

impl Step for GroupPart {
    type Config = GroupConfig;
    type Spec = crate::resource::user_pool::UserPoolSpec;
    const NOUN: &'static str = "user pool group";
    const ATTRIBUTES: &'static [(&'static str, Change)] = ATTRIBUTES;
    const DEFAULTED: &'static [&'static str] = DEFAULTED;
    const COST: u64 = 1;

    fn desired(
        spec: &Self::Spec,
        address: &Address,
        name: &str,
        _tags: crate::stack::Tags,
        ctx: &super::DesiredContext<'_>,
    ) -> Result<Value, String> {
        match &address.part {
            Some(crate::stack::Part::Group(key)) => match spec.groups.get(key) {
                Some(g) => desired(name, g, ctx),
                None => Err(format!("`{address}` is not declared in the stack")),
            },
            _ => Err(format!("`{address}` is not a group")),
        }
    }

    async fn read(aws: &Aws, target: &super::Target<'_>) -> Result<Option<Live>, Error> {
        read(aws, target).await
    }

    async fn create(
        aws: &Aws,
        desired: &Desired,
        parent: Option<&super::Outputs>,
    ) -> Result<super::Outputs, Error> {
        create(aws, desired, parent).await
    }

    async fn update(
        aws: &Aws,
        desired: &Desired,
        live: &Live,
        parent: Option<&super::Outputs>,
    ) -> Result<super::Outputs, Error> {
        update(aws, desired, live, parent).await
    }

    async fn delete(aws: &Aws, live: &Live, _options: super::ApplyOptions) -> Result<(), Error> {
        delete(aws, live).await
    }

    const OUTPUTS: &'static [&'static str] = &["name", "user_pool_id", "role_arn"];
    const SWIFT_SECTION: &'static str = "Groups";
    const MOBILE_CONFIG: Option<super::registry::MobileConfig> =
        Some(super::registry::MobileConfig::UserGroup);
}

/// The comparable shape of a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct GroupConfig {
    pub name: String,
    pub description: Option<String>,
    pub precedence: Option<i64>,
    pub role_arn: Option<String>,
}

/// The ARN of a group's `role`: a role of the stack (by key, through
/// `stack_role_arn`), an ARN as written, or an existing role's name.
pub(crate) fn role_arn(
    role: &str,
    stack_role_arn: Option<String>,
    partition: &str,
    account_id: &str,
) -> String {
    if let Some(arn) = stack_role_arn {
        return arn;
    }
    if role.starts_with("arn:") || role.contains(UNKNOWN) {
        return role.to_string();
    }
    // A name may carry a path (`service-role/x`).
    format!(
        "arn:{partition}:iam::{account_id}:role/{}",
        role.trim_start_matches('/')
    )
}

pub(crate) fn desired_config(
    name: &str,
    spec: &UserPoolGroupSpec,
    role: Option<String>,
) -> Result<GroupConfig, String> {
    if spec
        .precedence
        .is_some_and(|p| !(0..=i64::from(i32::MAX)).contains(&p))
    {
        return Err(format!("group `{name}`: `precedence` must be 0 or more"));
    }
    if spec
        .description
        .as_ref()
        .is_some_and(|d| d.chars().count() > 2048)
    {
        return Err(format!(
            "group `{name}`: `description` is longer than 2048 characters"
        ));
    }
    Ok(GroupConfig {
        name: name.to_string(),
        description: spec.description.clone().filter(|d| !d.is_empty()),
        precedence: spec.precedence,
        role_arn: role,
    })
}

pub(crate) fn desired(
    name: &str,
    spec: &UserPoolGroupSpec,
    ctx: &DesiredContext<'_>,
) -> Result<Value, String> {
    let role = spec.role.as_deref().map(|r| {
        let key = Address::new(Kind::Role, r);
        let declared = ctx.stack.resources.contains_key(&key);
        // UNKNOWN until the role exists; the engine resolves again after it.
        let stack_arn = declared.then(|| ctx.output(&key, "arn"));
        role_arn(r, stack_arn, ctx.partition, ctx.account_id)
    });
    serde_json::to_value(desired_config(name, spec, role)?).map_err(|e| e.to_string())
}

fn non_empty(s: Option<&str>) -> Option<String> {
    s.filter(|s| !s.is_empty()).map(str::to_string)
}

pub(crate) fn config_from(g: &GroupType) -> GroupConfig {
    GroupConfig {
        name: g.group_name().unwrap_or_default().to_string(),
        description: non_empty(g.description()),
        precedence: g.precedence().map(i64::from),
        role_arn: non_empty(g.role_arn()),
    }
}

fn outputs(g: &GroupType, pool_id: &str) -> Outputs {
    let mut o = Outputs::from([
        (
            "name".to_string(),
            g.group_name().unwrap_or_default().to_string(),
        ),
        (
            "user_pool_id".to_string(),
            g.user_pool_id().unwrap_or(pool_id).to_string(),
        ),
    ]);
    if let Some(role) = non_empty(g.role_arn()) {
        o.insert("role_arn".to_string(), role);
    }
    o
}

fn pool_id<'a>(parent: Option<&'a Outputs>, address: &Address) -> Result<&'a str, Error> {
    parent
        .and_then(|p| p.get("id"))
        .map(String::as_str)
        .ok_or_else(|| {
            Error::Unexpected(format!(
                "`{address}`: its user pool `{}` has no id yet",
                address.resource()
            ))
        })
}

fn parse(value: &Value, address: &Address) -> Result<GroupConfig, Error> {
    serde_json::from_value(value.clone()).map_err(|e| Error::Unexpected(format!("{address}: {e}")))
}

// ------------------------------------------------------------------ read ----

/// The pool's groups by name; `None` when the pool is gone.
pub(crate) async fn groups(
    aws: &Aws,
    pool_id: &str,
) -> Result<Option<BTreeMap<String, GroupType>>, Error> {
    let groups = super::all_pages_unless_gone(|token| async move {
        let out = aws
            .cognito_idp
            .list_groups()
            .user_pool_id(pool_id)
            .limit(60)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| {
                super::PageError::of("cognito-idp:ListGroups", "ResourceNotFoundException", &e)
            })?;
        let groups: Vec<(String, GroupType)> = out
            .groups()
            .iter()
            .filter_map(|g| Some((g.group_name()?.to_string(), g.clone())))
            .collect();
        Ok((groups, out.next_token))
    })
    .await?;
    Ok(groups.map(|g| g.into_iter().collect()))
}

/// The pool's groups as listed once for the plan's reads of them.
async fn listed(
    aws: &Aws,
    plan: Option<super::PlanTarget<'_>>,
    pool_id: &str,
) -> Result<Option<BTreeMap<String, GroupType>>, Error> {
    let key = format!("cognito-idp:ListGroups {pool_id}");
    super::plan_shared(plan, aws, &key, || groups(aws, pool_id)).await
}

/// Lists the groups of the pool with the id `pool_id` for the plan's reads
/// of them, beside the pool's own read (see
/// [`super::user_pool_client::prefetch`]). An error is left for the groups'
/// reads to report.
pub(crate) async fn prefetch(
    aws: &Aws,
    plan: Option<super::PlanTarget<'_>>,
    pool_id: &str,
    spec: &crate::resource::user_pool::UserPoolSpec,
) {
    if plan.is_some() && !spec.groups.is_empty() {
        let _ = listed(aws, plan, pool_id).await;
    }
}

pub(crate) async fn read(aws: &Aws, target: &Target<'_>) -> Result<Option<Live>, Error> {
    let Some(pool_id) = target.parent.and_then(|p| p.get("id")) else {
        return Ok(None);
    };
    let listed = listed(aws, target.plan, pool_id).await?;
    let group = listed.and_then(|mut all| all.remove(target.name));
    let Some(group) = group else {
        return Ok(None);
    };
    Ok(Some(Live {
        address: target.address.clone(),
        physical_name: target.name.to_string(),
        attributes: serde_json::to_value(config_from(&group))
            .map_err(|e| Error::Unexpected(e.to_string()))?,
        outputs: outputs(&group, pool_id),
        // In our pool, with the name the stack gives it.
        ownership: Ownership::Ours,
    }))
}

// ---------------------------------------------------------------- create ----

pub(crate) async fn create(
    aws: &Aws,
    desired: &Desired,
    parent: Option<&Outputs>,
) -> Result<Outputs, Error> {
    let g = parse(&desired.attributes, &desired.address)?;
    let pool_id = pool_id(parent, &desired.address)?;
    let out = aws
        .cognito_idp
        .create_group()
        .user_pool_id(pool_id)
        .group_name(&g.name)
        .set_description(g.description.clone())
        .set_precedence(g.precedence.map(|p| p as i32))
        .set_role_arn(g.role_arn.clone())
        .send()
        .await
        .map_err(|e| Error::aws("cognito-idp:CreateGroup", &e))?;
    let group = out
        .group
        .ok_or_else(|| Error::Unexpected("CreateGroup returned no group".into()))?;
    Ok(outputs(&group, pool_id))
}

// ---------------------------------------------------------------- update ----

/// Every managed field, so that none is left to a default: an emptied
/// description is sent empty. (A role or precedence that is taken away is
/// not sent; Cognito has no empty value for them.)
pub(crate) fn update_request(
    aws: &Aws,
    pool_id: &str,
    want: &GroupConfig,
) -> UpdateGroupFluentBuilder {
    aws.cognito_idp
        .update_group()
        .user_pool_id(pool_id)
        .group_name(&want.name)
        .description(want.description.clone().unwrap_or_default())
        .set_precedence(want.precedence.map(|p| p as i32))
        .set_role_arn(want.role_arn.clone())
}

pub(crate) async fn update(
    aws: &Aws,
    desired: &Desired,
    live: &Live,
    parent: Option<&Outputs>,
) -> Result<Outputs, Error> {
    let pool_id = pool_id(parent, &desired.address)?;
    // The pool was replaced: the group is created in the new one.
    if live.outputs.get("user_pool_id").map(String::as_str) != Some(pool_id) {
        return create(aws, desired, parent).await;
    }
    let want = parse(&desired.attributes, &desired.address)?;
    let out = update_request(aws, pool_id, &want)
        .send()
        .await
        .map_err(|e| Error::aws("cognito-idp:UpdateGroup", &e))?;
    Ok(match out.group {
        Some(g) => outputs(&g, pool_id),
        None => live.outputs.clone(),
    })
}

// ---------------------------------------------------------------- delete ----

pub(crate) async fn delete(aws: &Aws, live: &Live) -> Result<(), Error> {
    let Some(pool_id) = live.outputs.get("user_pool_id") else {
        return Ok(());
    };
    // Deleting the pool takes its groups with it: gone is fine.
    match aws
        .cognito_idp
        .delete_group()
        .user_pool_id(pool_id)
        .group_name(&live.physical_name)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if error_code(&e) == Some("ResourceNotFoundException") => Ok(()),
        Err(e) => Err(Error::aws("cognito-idp:DeleteGroup", &e)),
    }
}

// ---- adopt ----

/// A group: its description, precedence and role.
pub(crate) fn adopt_write(w: &adopt::Writer<'_>, c: &Value) -> toml::Table {
    let mut t = toml::Table::new();
    if let Some(d) = c.get("description").and_then(Value::as_str) {
        t.insert("description".into(), toml::Value::String(d.into()));
    }
    if let Some(p) = c.get("precedence").and_then(Value::as_i64) {
        t.insert("precedence".into(), toml::Value::Integer(p));
    }
    if let Some(r) = c.get("role_arn").and_then(Value::as_str) {
        t.insert(
            "role".into(),
            toml::Value::String(super::role::adopt_reference(w, r)),
        );
    }
    t
}

#[cfg(test)]
pub(crate) mod tests {
    //! `UpdateGroup` is missing in MiniStack 1.5.33: its request shape is
    //! checked here, with mocked responses.

    use crate::aws::mock::mock_client;
    use aws_sdk_cognitoidentityprovider::operation::delete_group::{
        DeleteGroupError, DeleteGroupOutput,
    };
    use aws_sdk_cognitoidentityprovider::operation::update_group::UpdateGroupOutput;
    use aws_sdk_cognitoidentityprovider::types::error::ResourceNotFoundException;
    use aws_sdk_cognitoidentityprovider::Client;
    use aws_smithy_mocks::{mock, RuleMode};

    use super::*;

    const POOL: &str = "us-east-1_Abc123";
    const ROLE: &str = "arn:aws:iam::123456789012:role/admins";

    fn group(description: &str, precedence: i32, role: &str) -> GroupType {
        GroupType::builder()
            .group_name("admins")
            .user_pool_id(POOL)
            .description(description)
            .precedence(precedence)
            .role_arn(role)
            .build()
    }

    fn live() -> Live {
        let g = group("Administrators", 0, ROLE);
        Live {
            address: "user_pool.users.groups.admins".parse().unwrap(),
            physical_name: "admins".into(),
            attributes: serde_json::to_value(config_from(&g)).unwrap(),
            outputs: outputs(&g, POOL),
            ownership: Ownership::Ours,
        }
    }

    fn desired_of(config: &GroupConfig) -> Desired {
        Desired {
            address: "user_pool.users.groups.admins".parse().unwrap(),
            physical_name: "admins".into(),
            attributes: serde_json::to_value(config).unwrap(),
            depends_on: vec![],
        }
    }

    #[test]
    fn a_role_is_the_stack_s_an_arn_or_an_existing_name() {
        assert_eq!(
            role_arn(
                "admins",
                Some("arn:aws:iam::1:role/demo-admins".into()),
                "aws",
                "123456789012"
            ),
            "arn:aws:iam::1:role/demo-admins"
        );
        assert_eq!(role_arn(ROLE, None, "aws", "123456789012"), ROLE);
        assert_eq!(
            role_arn("admins", None, "aws-cn", "123456789012"),
            "arn:aws-cn:iam::123456789012:role/admins"
        );
        assert_eq!(
            role_arn("service-role/x", None, "aws", "123456789012"),
            "arn:aws:iam::123456789012:role/service-role/x"
        );
    }

    #[test]
    fn empty_strings_from_aws_are_absent() {
        let g = GroupType::builder()
            .group_name("admins")
            .description("")
            .role_arn("")
            .build();
        let spec: UserPoolGroupSpec = toml::from_str("").unwrap();
        assert_eq!(
            config_from(&g),
            desired_config("admins", &spec, None).unwrap()
        );
    }

    #[tokio::test]
    async fn update_group_sends_every_managed_field() {
        let update_rule = mock!(Client::update_group)
            .match_requests(|r| {
                r.user_pool_id() == Some(POOL)
                    && r.group_name() == Some("admins")
                    && r.description() == Some("")
                    && r.precedence() == Some(5)
                    && r.role_arn() == Some("arn:aws:iam::123456789012:role/editors")
            })
            .then_output(|| {
                UpdateGroupOutput::builder()
                    .group(group("", 5, "arn:aws:iam::123456789012:role/editors"))
                    .build()
            });
        let aws = Aws {
            cognito_idp: mock_client!(
                aws_sdk_cognitoidentityprovider,
                RuleMode::MatchAny,
                [&update_rule]
            ),
            ..Aws::for_tests()
        };
        let want = GroupConfig {
            name: "admins".into(),
            description: None,
            precedence: Some(5),
            role_arn: Some("arn:aws:iam::123456789012:role/editors".into()),
        };
        let parent = Outputs::from([("id".to_string(), POOL.to_string())]);
        let out = update(&aws, &desired_of(&want), &live(), Some(&parent))
            .await
            .expect("updated");
        assert_eq!(update_rule.num_calls(), 1);
        assert_eq!(out["role_arn"], "arn:aws:iam::123456789012:role/editors");
    }

    #[tokio::test]
    async fn a_group_whose_pool_is_already_gone_is_deleted() {
        let gone = mock!(Client::delete_group).then_error(|| {
            DeleteGroupError::ResourceNotFoundException(
                ResourceNotFoundException::builder()
                    .message("no pool")
                    .meta(
                        aws_sdk_cognitoidentityprovider::error::ErrorMetadata::builder()
                            .code("ResourceNotFoundException")
                            .build(),
                    )
                    .build(),
            )
        });
        let aws = Aws {
            cognito_idp: mock_client!(aws_sdk_cognitoidentityprovider, RuleMode::MatchAny, [&gone]),
            ..Aws::for_tests()
        };
        delete(&aws, &live()).await.expect("gone is fine");
        assert_eq!(gone.num_calls(), 1);
        let _ = DeleteGroupOutput::builder().build();
    }

    // ------------------------------------------------- AWS's defaults ----

    /// AWS's answer for `groups.admins = {}` (see `resource/aws_defaults.rs`):
    /// `CreateGroup` is sent only the name and the pool; `ListGroups`
    /// reports the group with its dates and nothing else (`GroupType`:
    /// `Description`, `Precedence` and `RoleArn` are absent when not set).
    pub(crate) async fn aws_defaults() -> Vec<crate::resource::aws_defaults::Case> {
        use aws_sdk_cognitoidentityprovider::operation::list_groups::ListGroupsOutput;
        let m = crate::resource::aws_defaults::Minimal::load(
            "[user_pool.users]\ngroups.admins = {}\n",
            "user_pool.users.groups.admins",
            &[],
        );
        let list = mock!(Client::list_groups).then_output(|| {
            ListGroupsOutput::builder()
                .groups(
                    GroupType::builder()
                        .group_name("admins")
                        .user_pool_id(POOL)
                        .creation_date(aws_smithy_types::DateTime::from_secs(0))
                        .last_modified_date(aws_smithy_types::DateTime::from_secs(0))
                        .build(),
                )
                .build()
        });
        let aws = Aws {
            cognito_idp: mock_client!(aws_sdk_cognitoidentityprovider, RuleMode::MatchAny, [&list]),
            ..Aws::for_tests()
        };
        let parent = Outputs::from([("id".to_string(), POOL.to_string())]);
        let live = read(&aws, &m.target(Some(&parent))).await.expect("read");
        vec![m.case("a group made from `groups.admins = {}`", live)]
    }
}
