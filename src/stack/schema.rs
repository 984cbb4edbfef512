//! The stack file's schema: serde types for what the user writes, one struct per
//! table shape. Unknown keys are errors (`deny_unknown_fields`): a typo in a stack
//! file must never be silently ignored. These types hold unresolved strings
//! (`${...}` references are resolved later, against live state).
//!
//! The same types derive `JsonSchema`: `mobile-backend schema` prints the JSON
//! Schema of the stack file from them (see `crate::json_schema`), so editors
//! check exactly what this parser accepts. Doc comments here are the schema's
//! descriptions.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

pub type Tags = BTreeMap<String, String>;

/// `[stack]`: the stack's name, region and tags.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct StackSection {
    /// The stack's name: 1 to 40 characters of `a-z`, `0-9` and `-`, starting with a
    /// letter. It prefixes physical names (`<stack>-<key>`) and is the
    /// `mobile-backend:stack` tag of everything the stack creates, which is how the
    /// tool finds its resources again.
    #[schemars(regex(pattern = r"^[a-z][a-z0-9-]{0,39}$"))]
    pub name: String,
    /// The AWS region, like `us-east-1`. `--region` overrides it; without either, the
    /// SDK's region is used (`AWS_REGION`, the profile).
    #[serde(default)]
    #[schemars(regex(pattern = r"^[a-z0-9]+(-[a-z0-9]+)+-[0-9]+$"))]
    pub region: Option<String>,
    /// Tags added to every taggable resource of the stack.
    #[serde(default)]
    pub tags: Tags,
}

/// `[vars]`: values used as `${var.<name>}` wherever a reference may stand,
/// each with its default; `[stages.<name>].vars` overrides them per stage.
pub(crate) type VarsSection = BTreeMap<String, String>;

/// `[stages.<name>]`: what differs for one stage (`--stage <name>`). A stage
/// not listed here uses the defaults.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct StageSection {
    /// The stage's AWS region, like `eu-west-1` (instead of `[stack] region`;
    /// `--region` still overrides it).
    #[serde(default)]
    #[schemars(regex(pattern = r"^[a-z0-9]+(-[a-z0-9]+)+-[0-9]+$"))]
    pub region: Option<String>,
    /// Values of `[vars]` for this stage.
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
}

// The kinds' spec types live in their own files (`crate::resource::<kind>`).
