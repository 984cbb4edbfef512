//! The one list of resource kinds, in the tutorials' order (the tie-break
//! when the dependency graph leaves a choice), and the two traits every kind
//! implements in its own file.
//!
//! [`Step`] is what the plan and apply need of anything applied on its own: a
//! declared resource, or one of its parts (a user pool's app clients and
//! groups, an identity pool's role attachment). [`ResourceKind`] adds what
//! the stack file and the generic layers need of a declared kind: its TOML
//! name, the references it offers, its name rule.
//!
//! The `registry!` list below generates the enums the rest of the tool names
//! kinds by ([`Kind`], [`ResourceType`], [`Spec`]) and every dispatch from
//! them to the kinds' own files. Adding a kind is one file implementing the
//! traits plus one line here; no `match` on a kind exists anywhere else.

use std::future::Future;

use serde::de::{DeserializeOwned, Deserializer};
use serde_json::Value;

use super::{
    api, bucket, cdn, cdn_bucket_policy, function, identity_pool, identity_pool_roles, role,
    search, table, user_pool, user_pool_client, user_pool_group,
};
use super::{ApplyOptions, Change, Desired, DesiredContext, Error, Live, Outputs, Target};
use crate::adopt::{Found, Section, Writer};
use crate::aws::Aws;
use crate::stack::{Address, Stack, Tags};

/// A step that belongs to a declared resource but is applied on its own:
/// an app client or group of a user pool, or an identity pool's role
/// attachment (a single writer, after both the pool and its roles exist).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Part {
    /// `user_pool.<key>.clients.<name>`
    Client(String),
    /// `user_pool.<key>.groups.<name>`
    Group(String),
    /// `identity_pool.<key>.roles`
    Roles,
    /// `cdn.<key>.bucket_policy`
    BucketPolicy,
}

impl Part {
    /// Its name in addresses (`clients`, `groups`, `roles`).
    pub fn name(&self) -> &'static str {
        match self {
            Part::Client(_) => "clients",
            Part::Group(_) => "groups",
            Part::Roles => "roles",
            Part::BucketPolicy => "bucket_policy",
        }
    }

    /// Its key, for parts declared by key (`clients.<key>`).
    pub fn key(&self) -> Option<&str> {
        match self {
            Part::Client(key) | Part::Group(key) => Some(key),
            Part::Roles | Part::BucketPolicy => None,
        }
    }
}

/// What every kind's spec (its `[kind.key]` table) has: the three settings
/// the generic layers read.
pub trait SpecFields {
    /// `name = ...` as written (unresolved), when set.
    fn name(&self) -> Option<&String>;
    /// The resource's own `tags = { ... }`.
    fn tags(&self) -> &Tags;
    /// `adopt = "<AWS id>"`: the existing resource to take as this one's.
    fn adopt(&self) -> Option<&str>;
}

/// Implements [`SpecFields`] for spec structs with `name`, `tags` and `adopt`
/// fields of the usual types.
#[macro_export]
macro_rules! spec_fields {
    ($($spec:ty),* $(,)?) => {$(
        impl $crate::resource::registry::SpecFields for $spec {
            fn name(&self) -> Option<&String> {
                self.name.as_ref()
            }
            fn tags(&self) -> &$crate::stack::Tags {
                &self.tags
            }
            fn adopt(&self) -> Option<&str> {
                self.adopt.as_deref()
            }
        }
    )*};
}

/// Anything applied on its own: a declared resource or one of its parts.
pub trait Step: 'static {
    /// The declared resource's settings (a part's are its resource's).
    type Spec: SpecFields
        + DeserializeOwned
        + schemars::JsonSchema
        + Clone
        + std::fmt::Debug
        + Send
        + Sync;
    /// Its live and desired configuration: the typed shape of the
    /// attributes the plan compares (each field one attribute).
    type Config: DeserializeOwned;
    /// What AWS calls it, for messages.
    const NOUN: &'static str;
    /// Every top-level attribute of its desired and live configuration, and
    /// how a change to it is made. An attribute missing here is an error
    /// (see the registry's tests), never silently an update.
    const ATTRIBUTES: &'static [(&'static str, Change)];
    /// What AWS fills in when the stack leaves it unset (Terraform's
    /// Optional + Computed): dotted attribute paths, `*` standing for any
    /// one map key. Most kinds put AWS's default in the desired value
    /// instead, and declare nothing here.
    const DEFAULTED: &'static [&'static str] = &[];
    /// About how long it runs, in calls made one after the other (waits and
    /// client-side pacing counted as calls): apply starts the costliest
    /// chains first.
    const COST: u64;
    /// Replacing it loses data or users, so it needs `--allow-replace`.
    const HOLDS_DATA: bool = false;

    /// What replacing the resource named `name` loses, for the plan.
    fn data_loss(name: &str) -> String {
        format!("replacing {} `{name}` loses its data", Self::NOUN)
    }

    /// Why an update in place does more than set the changed attributes
    /// (a REST API is deployed again), given the changed attribute paths.
    fn update_reason(_changed: &[&str]) -> Option<String> {
        None
    }

    /// The attributes the step wants, as JSON, from its resource's resolved spec.
    fn desired(
        spec: &Self::Spec,
        address: &Address,
        name: &str,
        tags: Tags,
        ctx: &DesiredContext<'_>,
    ) -> Result<Value, String>;

    /// Reads the step by its physical name (and its parent's outputs);
    /// `None` when it does not exist.
    fn read(
        aws: &Aws,
        target: &Target<'_>,
    ) -> impl Future<Output = Result<Option<Live>, Error>> + Send;

    /// Creates the step; returns its outputs.
    fn create(
        aws: &Aws,
        desired: &Desired,
        parent: Option<&Outputs>,
    ) -> impl Future<Output = Result<Outputs, Error>> + Send;

    /// Brings a live step to the desired attributes; returns its outputs.
    fn update(
        aws: &Aws,
        desired: &Desired,
        live: &Live,
        parent: Option<&Outputs>,
    ) -> impl Future<Output = Result<Outputs, Error>> + Send;

    /// What would stop deleting the one named `name` half-way, asked of AWS
    /// before the first change of a plan (a bucket that still holds
    /// objects); `None` when nothing would. `destroying` says whether the
    /// plan is a `destroy` (otherwise the resource left the stack file).
    fn delete_blocker(
        _aws: &Aws,
        _address: &Address,
        _name: &str,
        _destroying: bool,
        _options: ApplyOptions,
    ) -> impl Future<Output = Result<Option<String>, Error>> + Send {
        async { Ok(None) }
    }

    /// The step's secret outputs, read live only when asked for
    /// (`outputs --include-secrets`), named as they are shown
    /// (`client_secret`, `key.<name>.value`); none by default.
    fn read_secrets(
        _aws: &Aws,
        _live: &Live,
    ) -> impl Future<Output = Result<Outputs, Error>> + Send {
        async { Ok(Outputs::new()) }
    }

    /// Deletes a live step (ownership is checked before this is called).
    fn delete(
        aws: &Aws,
        live: &Live,
        options: ApplyOptions,
    ) -> impl Future<Output = Result<(), Error>> + Send;

    // ---- outputs ----

    /// Every output it reports (what `create`, `update` and `read` return),
    /// named as in `${kind.key.attr}` references; `*` stands for one name
    /// (an API's `key.*.id`).
    const OUTPUTS: &'static [&'static str];
    /// Outputs that are this tool's bookkeeping, never shown. A step whose
    /// outputs are all internal is left out of every format.
    const INTERNAL_OUTPUTS: &'static [&'static str] = &[];
    /// The outputs the end of `up` shows: what the tutorials tell you to copy.
    const SUMMARY_OUTPUTS: &'static [&'static str] = &[];
    /// What the summary shows instead when none of [`Self::SUMMARY_OUTPUTS`]
    /// has a value yet.
    const SUMMARY_FALLBACK: &'static [&'static str] = &[];
    /// Its namespace in the Swift `MobileBackend` enum: the kind's (`Tables`),
    /// or a part's under its resource's (`Clients`).
    const SWIFT_SECTION: &'static str;
    /// What the mobile client configuration formats use it as, if anything.
    const MOBILE_CONFIG: Option<MobileConfig> = None;
}

/// A part of a declared resource, applied on its own.
pub(crate) trait PartStep: Step {
    /// Its name in addresses: `user_pool.<key>.<PART>...`.
    const PART: &'static str;

    /// How its physical name is found (by default its resource's name).
    fn physical_name<'s>(_spec: &'s Self::Spec, _part: &Part) -> PartName<'s> {
        PartName::Resource
    }
}

/// Where a part's physical name comes from.
pub(crate) enum PartName<'s> {
    /// A `name = ...` template of its own, to resolve.
    Template(&'s str),
    /// Its key.
    Key,
    /// Its resource's physical name.
    Resource,
}

/// A kind of resource a stack declares as `[<NAME>.<key>]`.
pub trait ResourceKind: Step {
    /// The top-level table of the stack file.
    const NAME: &'static str;
    /// What its top-level table holds, for the stack file's JSON Schema.
    const DESCRIPTION: &'static str;
    /// Attributes other resources may reference as `${kind.key.attr}`.
    const REFERENCES: &'static [&'static str];
    /// Whether its `adopt` id is its physical name (names unique per account).
    const ADOPTS_BY_NAME: bool = false;

    /// The default physical name, `<stack>-<key>` adapted to the service's rules.
    fn default_name(stack: &str, key: &str) -> String {
        format!("{stack}-{key}")
    }

    /// Why `name` can never be a valid physical name, if it cannot.
    fn check_name(name: &str) -> Result<(), String>;

    /// The name of a resource found by the tagging API with this ARN, for
    /// kinds the tagging API lists (others find theirs in [`Self::find_owned`]).
    fn tagged_name(_arn: &str) -> Option<String> {
        None
    }

    /// The part that the entry `key` of the sub-table `table` declares (a
    /// user pool's `clients.<name>`), if that sub-table holds parts.
    fn keyed_part(_table: &str, _key: &str) -> Option<Part> {
        None
    }

    /// The parts every resource of the kind has (an identity pool's role
    /// attachment).
    fn fixed_parts() -> Vec<Part> {
        Vec::new()
    }

    /// The kind's offline checks of its spec: errors at their keys, and the
    /// other steps its settings name ([`crate::stack::Checks::link`]).
    fn check(_spec: &Self::Spec, _checks: &mut crate::stack::Checks<'_, '_>) {}

    /// How the resource fits the rest of the (loaded) stack: what it finds
    /// wrong, reported at its `[kind.key]` (a function's role that does not
    /// trust Lambda). Nothing by default.
    fn check_across(
        _spec: &Self::Spec,
        _address: &Address,
        _stack: &Stack,
    ) -> Vec<crate::stack::Finding> {
        Vec::new()
    }

    /// Asks for the account-wide listings a plan's reads of this kind (the
    /// stack declares `declared` of them) and its search for leftovers share,
    /// which need no account id, while STS is asked who we are; the plan's
    /// reads then find them answered ([`super::warm`]).
    fn warm(_aws: &Aws, _declared: usize) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// Resources of this kind that this stack owns but no longer declares,
    /// for kinds the tagging API does not list.
    fn find_owned(
        _aws: &Aws,
        _stack: &Stack,
        _declared_names: &[String],
    ) -> impl Future<Output = Result<Vec<(Address, String)>, Error>> + Send {
        async { Ok(Vec::new()) }
    }

    // ---- adopt ----

    /// Outputs whose literal values the stack file `adopt` writes replaces
    /// with `${kind.key.attr}`: the ARNs and ids other resources name.
    const ADOPT_REFERENCES: &'static [&'static str];

    /// Where the kind's listing comes in `adopt`'s scan: the listings start,
    /// and the first failed one is reported, in this order.
    const ADOPT_LIST_RANK: u8 = u8::MAX;

    /// The kind's resources in the account and region, as (AWS id, physical name).
    fn adopt_list(aws: &Aws) -> impl Future<Output = Result<Vec<(String, String)>, String>> + Send;

    /// Reads what the found resource's own read leaves out (its parts) into
    /// `found.parts`; returns notes on what the stack format cannot say.
    fn adopt_parts(
        _aws: &Aws,
        _stack: &str,
        _found: &mut Found,
    ) -> impl Future<Output = Result<Vec<String>, String>> + Send {
        async { Ok(Vec::new()) }
    }

    /// Writes a found resource's settings into its `[kind.key]` table, defaults
    /// left out (the frame writes `adopt`, `name` and `tags`); notes on the
    /// writer what the stack format cannot say.
    fn adopt_write(writer: &mut Writer<'_>, found: &Found, section: &mut Section);
}

/// The field names of a struct, as its `Deserialize` declares them (renames
/// applied): what a typed configuration's attributes are.
#[cfg(test)]
pub(crate) fn field_names<T: DeserializeOwned>() -> &'static [&'static str] {
    use serde::de::{Error as _, Visitor};
    struct Fields<'a>(&'a mut &'static [&'static str]);
    impl<'de> Deserializer<'de> for Fields<'_> {
        type Error = serde::de::value::Error;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(Self::Error::custom("not a struct"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            fields: &'static [&'static str],
            _visitor: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(Self::Error::custom("fields read"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
            bytes byte_buf option unit unit_struct newtype_struct seq tuple
            tuple_struct map enum identifier ignored_any
        }
    }
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(Fields(&mut fields));
    fields
}

/// Code that works on any one kind, given its type: see [`Kind::visit`].
pub trait KindVisitor {
    type Output;
    fn visit<K: ResourceKind>(self) -> Self::Output;
}

/// Code that works on any one kind's typed spec: see [`Spec::visit`].
pub trait SpecVisitor {
    type Output;
    fn visit<K: ResourceKind>(self, spec: &K::Spec) -> Self::Output;
}

macro_rules! registry {
    ($( $kind:ident => $module:ident :: $ty:ident { $( $part:ident => $pmodule:ident :: $pty:ident ),* } ),* $(,)?) => {
        registry!(@expand $( $kind => $module :: $ty = $module::$ty { $( $part => $pmodule :: $pty = $pmodule::$pty ),* } ),*);
    };
    (@expand $( $kind:ident => $module:ident :: $ty:ident = $imp:ty { $( $part:ident => $pmodule:ident :: $pty:ident = $pimp:ty ),* } ),*) => {
        /// The kinds of resource a stack can declare, in the tutorials' order.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Kind { $( $kind ),* }

        /// What AWS thing an address is: a declared resource or one of its parts.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub(crate) enum ResourceType { $( $kind, $( $part, )* )* }

        /// A resource's settings as typed by the user, one variant per kind.
        #[derive(Debug, Clone)]
        // One value per declared resource: the size difference between kinds
        // costs nothing worth boxing for.
        #[allow(clippy::large_enum_variant)]
        pub enum Spec { $( $kind(<$imp as Step>::Spec) ),* }

        impl Kind {
            pub const ALL: &'static [Kind] = &[ $( Kind::$kind ),* ];

            /// The top-level table of the stack file.
            pub fn as_str(self) -> &'static str {
                match self { $( Kind::$kind => <$imp as ResourceKind>::NAME ),* }
            }

            /// Attributes other resources may reference as `${kind.key.attr}`.
            pub fn attributes(self) -> &'static [&'static str] {
                match self { $( Kind::$kind => <$imp as ResourceKind>::REFERENCES ),* }
            }

            /// What AWS calls it, for messages.
            pub fn service_noun(self) -> &'static str {
                match self { $( Kind::$kind => <$imp as Step>::NOUN ),* }
            }

            /// Whether its `adopt` id is its physical name.
            pub fn adopts_by_name(self) -> bool {
                match self { $( Kind::$kind => <$imp as ResourceKind>::ADOPTS_BY_NAME ),* }
            }

            /// The default physical name of `kind.key` in stack `stack`.
            pub fn default_name(self, stack: &str, key: &str) -> String {
                match self { $( Kind::$kind => <$imp as ResourceKind>::default_name(stack, key) ),* }
            }

            /// Why `name` can never be a valid physical name for the kind.
            pub fn check_name(self, name: &str) -> Result<(), String> {
                match self { $( Kind::$kind => <$imp as ResourceKind>::check_name(name) ),* }
            }

            /// The name of a resource the tagging API found with this ARN.
            pub fn tagged_name(self, arn: &str) -> Option<String> {
                match self { $( Kind::$kind => <$imp as ResourceKind>::tagged_name(arn) ),* }
            }

            /// Asks for the kind's account-wide listings ahead of its reads.
            pub async fn warm(self, aws: &Aws, declared: usize) {
                match self {
                    $( Kind::$kind => <$imp as ResourceKind>::warm(aws, declared).await ),*
                }
            }

            /// Resources of the kind this stack owns but no longer declares,
            /// when the tagging API does not list the kind.
            pub async fn find_owned(
                self,
                aws: &Aws,
                stack: &Stack,
                declared_names: &[String],
            ) -> Result<Vec<(Address, String)>, Error> {
                match self {
                    $( Kind::$kind => <$imp as ResourceKind>::find_owned(aws, stack, declared_names).await ),*
                }
            }

            /// The part that the entry `key` of the sub-table `table` declares.
            pub fn keyed_part(self, table: &str, key: &str) -> Option<Part> {
                match self { $( Kind::$kind => <$imp as ResourceKind>::keyed_part(table, key) ),* }
            }

            /// The parts every resource of the kind has.
            pub fn fixed_parts(self) -> Vec<Part> {
                match self { $( Kind::$kind => <$imp as ResourceKind>::fixed_parts() ),* }
            }

            /// Deserializes a `[kind.key]` table into the kind's spec.
            pub fn deserialize_spec<'de, D: Deserializer<'de>>(
                self,
                de: D,
            ) -> Result<Spec, D::Error> {
                match self {
                    $( Kind::$kind => <<$imp as Step>::Spec as serde::Deserialize>::deserialize(de).map(Spec::$kind) ),*
                }
            }
        }

        impl Kind {
            /// Calls the visitor with the kind's type: how code outside the
            /// registry reaches a kind's [`ResourceKind`] items.
            pub fn visit<V: KindVisitor>(self, visitor: V) -> V::Output {
                match self { $( Kind::$kind => visitor.visit::<$imp>() ),* }
            }
        }

        impl Spec {
            fn fields(&self) -> &dyn SpecFields {
                match self { $( Spec::$kind(s) => s ),* }
            }

            /// Calls the visitor with the kind's type and its typed spec.
            pub fn visit<V: SpecVisitor>(&self, visitor: V) -> V::Output {
                match self { $( Spec::$kind(s) => visitor.visit::<$imp>(s) ),* }
            }
        }

        impl ResourceType {
            #[cfg(test)]
            pub(crate) const ALL: &'static [ResourceType] = &[ $( ResourceType::$kind, $( ResourceType::$part, )* )* ];

            /// The type of the step at `address`.
            pub(crate) fn of(address: &Address) -> ResourceType {
                ResourceType::of_step(address.kind, address.part.as_ref())
            }

            /// The type of the step at `<kind>.<key>` or `<kind>.<key>.<part>`
            /// (a part the kind does not have is the kind's own).
            pub(crate) fn of_step(kind: Kind, part: Option<&Part>) -> ResourceType {
                let part = part.map(Part::name);
                match kind {
                    $( Kind::$kind => {
                        $( if part == Some(<$pimp as PartStep>::PART) {
                            return ResourceType::$part;
                        } )*
                        ResourceType::$kind
                    } )*
                }
            }

            /// What AWS calls it, for messages.
            pub(crate) fn noun(self) -> &'static str {
                match self { $( ResourceType::$kind => <$imp as Step>::NOUN, $( ResourceType::$part => <$pimp as Step>::NOUN, )* )* }
            }

            /// Replacing one of these loses data or users, so it needs `--allow-replace`.
            pub(crate) fn holds_data(self) -> bool {
                match self { $( ResourceType::$kind => <$imp as Step>::HOLDS_DATA, $( ResourceType::$part => <$pimp as Step>::HOLDS_DATA, )* )* }
            }

            /// What replacing the one named `name` loses.
            pub(crate) fn data_loss(self, name: &str) -> String {
                match self { $( ResourceType::$kind => <$imp as Step>::data_loss(name), $( ResourceType::$part => <$pimp as Step>::data_loss(name), )* )* }
            }

            /// The attributes and how each one changes.
            pub(crate) fn attribute_classes(self) -> &'static [(&'static str, Change)] {
                match self { $( ResourceType::$kind => <$imp as Step>::ATTRIBUTES, $( ResourceType::$part => <$pimp as Step>::ATTRIBUTES, )* )* }
            }

            /// What AWS fills in when the stack leaves it unset.
            pub(crate) fn defaulted(self) -> &'static [&'static str] {
                match self { $( ResourceType::$kind => <$imp as Step>::DEFAULTED, $( ResourceType::$part => <$pimp as Step>::DEFAULTED, )* )* }
            }

            /// Why an update in place does more than set the changed attributes.
            pub(crate) fn update_reason(self, changed: &[&str]) -> Option<String> {
                match self { $( ResourceType::$kind => <$imp as Step>::update_reason(changed), $( ResourceType::$part => <$pimp as Step>::update_reason(changed), )* )* }
            }

            /// About how long the step runs, in calls one after the other.
            pub(crate) fn cost(self) -> u64 {
                match self { $( ResourceType::$kind => <$imp as Step>::COST, $( ResourceType::$part => <$pimp as Step>::COST, )* )* }
            }

            /// The fields of its typed configuration ([`Step::Config`]).
            #[cfg(test)]
            pub(crate) fn config_fields(self) -> &'static [&'static str] {
                match self { $( ResourceType::$kind => field_names::<<$imp as Step>::Config>(), $( ResourceType::$part => field_names::<<$pimp as Step>::Config>(), )* )* }
            }

            /// The step type's cases of what AWS fills in by itself
            /// (`aws_defaults()` in its file's tests).
            #[cfg(test)]
            pub(crate) fn aws_defaults(self) -> futures::future::BoxFuture<'static, Vec<super::aws_defaults::Case>> {
                match self { $( ResourceType::$kind => Box::pin($module::tests::aws_defaults()), $( ResourceType::$part => Box::pin($pmodule::tests::aws_defaults()), )* )* }
            }

            /// Calls the visitor with the step type's type: how code outside
            /// the registry reaches a kind's or a part's [`Step`] items.
            pub(crate) fn visit<V: StepVisitor>(self, visitor: V) -> V::Output {
                match self { $( ResourceType::$kind => visitor.visit::<$imp>(), $( ResourceType::$part => visitor.visit::<$pimp>(), )* )* }
            }

            /// Whether it is a part of a declared resource.
            #[cfg(test)]
            pub(crate) fn is_part(self) -> bool {
                match self { $( ResourceType::$kind => false, $( ResourceType::$part => true, )* )* }
            }
        }

        /// The attributes a step wants, as JSON, from its resource's resolved spec.
        pub(crate) fn desired_attributes(
            address: &Address,
            spec: &Spec,
            name: &str,
            tags: Tags,
            ctx: &DesiredContext<'_>,
        ) -> Result<Value, String> {
            match (ResourceType::of(address), spec) {
                $(
                    (ResourceType::$kind, Spec::$kind(s)) => <$imp as Step>::desired(s, address, name, tags, ctx),
                    $( (ResourceType::$part, Spec::$kind(s)) => <$pimp as Step>::desired(s, address, name, tags, ctx), )*
                )*
                #[allow(unreachable_patterns)]
                (t, _) => Err(format!("`{address}` is declared as another kind than a {}", t.noun())),
            }
        }

        /// Where the physical name of the part at `address` comes from;
        /// `None` when `address` is not a part of a resource declared by `spec`.
        pub(crate) fn part_name<'s>(address: &Address, spec: &'s Spec) -> Option<PartName<'s>> {
            let part = address.part.as_ref()?;
            match (ResourceType::of(address), spec) {
                $( $( (ResourceType::$part, Spec::$kind(s)) => Some(<$pimp as PartStep>::physical_name(s, part)), )* )*
                #[allow(unreachable_patterns)]
                _ => None,
            }
        }

        pub(super) async fn read_step(aws: &Aws, target: &Target<'_>) -> Result<Option<Live>, Error> {
            match ResourceType::of(target.address) {
                $( ResourceType::$kind => <$imp as Step>::read(aws, target).await,
                   $( ResourceType::$part => <$pimp as Step>::read(aws, target).await, )* )*
            }
        }

        pub(super) async fn create_step(aws: &Aws, desired: &Desired, parent: Option<&Outputs>) -> Result<Outputs, Error> {
            match ResourceType::of(&desired.address) {
                $( ResourceType::$kind => <$imp as Step>::create(aws, desired, parent).await,
                   $( ResourceType::$part => <$pimp as Step>::create(aws, desired, parent).await, )* )*
            }
        }

        pub(super) async fn update_step(aws: &Aws, desired: &Desired, live: &Live, parent: Option<&Outputs>) -> Result<Outputs, Error> {
            match ResourceType::of(&desired.address) {
                $( ResourceType::$kind => <$imp as Step>::update(aws, desired, live, parent).await,
                   $( ResourceType::$part => <$pimp as Step>::update(aws, desired, live, parent).await, )* )*
            }
        }

        /// What would stop deleting the step named `name` half-way.
        pub(crate) async fn delete_blocker(
            aws: &Aws,
            address: &Address,
            name: &str,
            destroying: bool,
            options: ApplyOptions,
        ) -> Result<Option<String>, Error> {
            match ResourceType::of(address) {
                $( ResourceType::$kind => <$imp as Step>::delete_blocker(aws, address, name, destroying, options).await,
                   $( ResourceType::$part => <$pimp as Step>::delete_blocker(aws, address, name, destroying, options).await, )* )*
            }
        }

        /// The step's secret outputs, read live.
        pub(crate) async fn read_secrets(aws: &Aws, live: &Live) -> Result<Outputs, Error> {
            match ResourceType::of(&live.address) {
                $( ResourceType::$kind => <$imp as Step>::read_secrets(aws, live).await,
                   $( ResourceType::$part => <$pimp as Step>::read_secrets(aws, live).await, )* )*
            }
        }

        pub(super) async fn delete_step(aws: &Aws, live: &Live, options: ApplyOptions) -> Result<(), Error> {
            match ResourceType::of(&live.address) {
                $( ResourceType::$kind => <$imp as Step>::delete(aws, live, options).await,
                   $( ResourceType::$part => <$pimp as Step>::delete(aws, live, options).await, )* )*
            }
        }
    };
}

registry! {
    IdentityPool => identity_pool::IdentityPoolKind { IdentityPoolRoles => identity_pool_roles::RolesPart },
    UserPool => user_pool::UserPoolKind {
        UserPoolClient => user_pool_client::ClientPart,
        UserPoolGroup => user_pool_group::GroupPart
    },
    Table => table::TableKind {},
    Bucket => bucket::BucketKind {},
    Search => search::SearchKind {},
    Api => api::ApiKind {},
    Role => role::RoleKind {},
    Function => function::FunctionKind {},
    Cdn => cdn::CdnKind { CdnBucketPolicy => cdn_bucket_policy::PolicyPart },
}

impl Spec {
    /// `name = ...` as written (unresolved), when set.
    pub fn name(&self) -> Option<&String> {
        self.fields().name()
    }

    /// The resource's own `tags = { ... }` (the stack's are added by
    /// [`Stack::tags_for`]).
    pub fn tags(&self) -> &Tags {
        self.fields().tags()
    }

    /// `adopt = "<AWS id>"`: the existing resource to take as this one's.
    pub fn adopt(&self) -> Option<&str> {
        self.fields().adopt()
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Kind {
    /// The kind whose top-level table is `name`.
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.iter().copied().find(|k| k.as_str() == name)
    }
}

// ---- outputs ----

/// Code that works on any one step (a kind or a part), given its type: see
/// [`Kind::visit_step`].
pub trait StepVisitor {
    type Output;
    fn visit<S: Step>(self) -> Self::Output;
}

/// What a step is to the mobile client configuration formats (Amplify's
/// `amplify_outputs.json`, the SDK's `awsconfiguration.json`, the Swift
/// constants), which pick their resources by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MobileConfig {
    /// Hands out AWS credentials to the app (an identity pool).
    Credentials,
    /// The IAM roles those credentials are for (an identity pool's role
    /// attachment).
    CredentialRoles,
    /// Where users sign in (a user pool).
    SignIn,
    /// What an app signs in with (a user pool's app client).
    AppClient,
    /// A group of signed-in users (a user pool's group).
    UserGroup,
    /// File storage (a bucket).
    Storage,
    /// A database table.
    Database,
    /// A REST API.
    RestApi,
    /// A content delivery network in front of file storage (a CloudFront
    /// distribution).
    ContentDelivery,
}

impl Kind {
    /// Calls the visitor with the type of the step at `<kind>.<key>` (`part`
    /// `None`) or `<kind>.<key>.<part>`: how code outside the registry reaches
    /// a kind's or a part's [`Step`] items.
    pub fn visit_step<V: StepVisitor>(self, part: Option<&Part>, visitor: V) -> V::Output {
        ResourceType::of_step(self, part).visit(visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_names_follow_each_service_rules() {
        assert_eq!(
            Kind::IdentityPool.default_name("photo-notes", "app"),
            "photo_notes_app"
        );
        assert_eq!(
            Kind::Bucket.default_name("photo-notes", "my_files"),
            "photo-notes-my-files"
        );
        assert_eq!(
            Kind::Table.default_name("photo-notes", "notes"),
            "photo-notes-notes"
        );
    }

    #[test]
    fn impossible_names_are_rejected() {
        assert!(Kind::Bucket.check_name("Has_Upper").is_err());
        assert!(Kind::Bucket.check_name("192.168.1.1").is_err());
        assert!(Kind::Bucket.check_name("ab").is_err());
        assert!(Kind::Bucket.check_name("a..b").is_err());
        assert!(Kind::Table.check_name("no spaces").is_err());
        assert!(Kind::Search.check_name("9lives").is_err());
        assert!(Kind::Role.check_name(&"r".repeat(65)).is_err());
    }

    #[test]
    fn every_field_of_every_typed_configuration_is_classified_and_nothing_else() {
        for t in ResourceType::ALL {
            let mut fields: Vec<&str> = t.config_fields().to_vec();
            let mut classified: Vec<&str> = t.attribute_classes().iter().map(|(n, _)| *n).collect();
            assert!(
                !fields.is_empty(),
                "{t}: its Config is not a struct with fields"
            );
            fields.sort_unstable();
            classified.sort_unstable();
            assert_eq!(
                fields, classified,
                "{t}: the fields of its Config and its ATTRIBUTES differ"
            );
        }
    }

    #[test]
    fn kinds_have_distinct_toml_names_and_nouns() {
        let mut names: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Kind::ALL.len());
        let mut nouns: Vec<&str> = ResourceType::ALL.iter().map(|t| t.noun()).collect();
        nouns.sort();
        nouns.dedup();
        assert_eq!(nouns.len(), ResourceType::ALL.len());
    }

    /// Every step the registry types reaches its own [`Step`] items through
    /// [`Kind::visit_step`]: a part the kind has reaches the part (nouns are
    /// distinct), any other the kind itself, as [`ResourceType::of`] says.
    #[test]
    fn visit_step_reaches_the_step_resource_type_names() {
        struct Noun;
        impl StepVisitor for Noun {
            type Output = &'static str;
            fn visit<S: Step>(self) -> &'static str {
                S::NOUN
            }
        }
        let parts = [
            None,
            Some(Part::Client("ios".into())),
            Some(Part::Group("admins".into())),
            Some(Part::Roles),
            Some(Part::BucketPolicy),
        ];
        let mut reached = Vec::new();
        for kind in Kind::ALL {
            for part in &parts {
                let address = Address {
                    kind: *kind,
                    key: "k".into(),
                    part: part.clone(),
                };
                let noun = kind.visit_step(part.as_ref(), Noun);
                assert_eq!(noun, ResourceType::of(&address).noun(), "{address}");
                reached.push(ResourceType::of(&address));
            }
        }
        for t in ResourceType::ALL {
            assert!(reached.contains(t), "{t:?} is not reached");
        }
    }

    /// What other resources may reference is among what the kind reports.
    #[test]
    fn every_referenceable_attribute_is_a_declared_output() {
        struct Undeclared;
        impl KindVisitor for Undeclared {
            type Output = Vec<&'static str>;
            fn visit<K: ResourceKind>(self) -> Vec<&'static str> {
                K::REFERENCES
                    .iter()
                    .copied()
                    .filter(|r| !K::OUTPUTS.contains(r) || K::INTERNAL_OUTPUTS.contains(r))
                    .collect()
            }
        }
        for kind in Kind::ALL {
            assert_eq!(kind.visit(Undeclared), Vec::<&str>::new(), "{kind}");
        }
    }

    /// Internal, summary and fallback outputs are among the declared ones.
    #[test]
    fn shown_and_internal_outputs_are_declared() {
        struct Stray;
        impl StepVisitor for Stray {
            type Output = Vec<&'static str>;
            fn visit<S: Step>(self) -> Vec<&'static str> {
                [S::INTERNAL_OUTPUTS, S::SUMMARY_OUTPUTS, S::SUMMARY_FALLBACK]
                    .concat()
                    .into_iter()
                    .filter(|o| !S::OUTPUTS.contains(o))
                    .collect()
            }
        }
        for kind in Kind::ALL {
            for part in [
                None,
                Some(Part::Client("c".into())),
                Some(Part::Group("g".into())),
                Some(Part::Roles),
                Some(Part::BucketPolicy),
            ] {
                assert_eq!(
                    kind.visit_step(part.as_ref(), Stray),
                    Vec::<&str>::new(),
                    "{kind} {part:?}"
                );
            }
        }
    }
}
