//! Command-line definition (clap derive types only). What the user typed lives
//! here; what it resolves to (stack path, AWS settings) is worked out in
//! `commands`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Provision an AWS mobile backend from one declarative TOML stack file.
#[derive(Debug, Parser)]
#[command(name = "mobile-backend", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Flags accepted before or after the command.
#[derive(Debug, Args, Clone, Default)]
pub struct GlobalArgs {
    /// Stack file [default: $MOBILE_BACKEND_STACK, else the only *.toml in stacks/]
    #[arg(long, global = true, env = "MOBILE_BACKEND_STACK", value_name = "FILE")]
    pub stack: Option<PathBuf>,

    /// AWS region (overrides the stack's `region` and the SDK chain)
    #[arg(long, global = true, value_name = "R")]
    pub region: Option<String>,

    /// Named AWS profile from the shared config files
    #[arg(long, global = true, value_name = "P")]
    pub profile: Option<String>,

    /// Send every AWS call to this endpoint (a local emulator); a service whose
    /// AWS_ENDPOINT_URL_<SERVICE> variable is set keeps that endpoint
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,

    /// Never colour the output (NO_COLOR is honoured too)
    #[arg(long, global = true)]
    pub no_color: bool,

    /// Deploy a separate copy of the stack: names, ownership tags and the lock
    /// become `<stack>-<stage>`; `${stack.stage}` is NAME
    #[arg(long, global = true, env = "MOBILE_BACKEND_STAGE", value_name = "NAME")]
    pub stage: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the stack file offline; never calls AWS
    Validate,
    /// Show what `up` would change against live AWS
    Plan(PlanArgs),
    /// Create, update or replace resources so that AWS matches the stack
    Up(UpArgs),
    /// Delete every resource the stack owns
    Destroy(DestroyArgs),
    /// Print the stack's outputs (ids, ARNs, endpoints)
    Outputs(OutputsArgs),
    /// Break a stale stack lock (asks first)
    Unlock(UnlockArgs),
    /// List the stages of this stack that exist in the account, with who applied each last
    Stages(StagesArgs),
    /// Write a ready, commented stack file and its policies to start from
    Init(InitArgs),
    /// Write a stack file that adopts resources made outside this tool
    Adopt(AdoptArgs),
    /// Print the JSON Schema of the stack file, for TOML editors
    Schema,
    /// Print a shell completion script
    Completions(CompletionsArgs),
    /// Print the man page (roff), or write one page per command to a directory
    Man(ManArgs),
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Print the plan as a versioned JSON document
    #[arg(long, conflicts_with = "markdown")]
    pub json: bool,
    /// Print the plan as a Markdown summary (for a pull-request comment)
    #[arg(long)]
    pub markdown: bool,
    /// Also write the plan (JSON) to FILE
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Exit 0 when there are no changes, 2 when there are changes, 1 on error
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Plan the deletion of everything the stack owns
    #[arg(long)]
    pub destroy: bool,
}

#[derive(Debug, Args)]
pub struct UpArgs {
    /// Do not ask for confirmation (required without a terminal)
    #[arg(long)]
    pub auto_approve: bool,
    /// Allow replacing resources that hold data or users (their contents are lost)
    #[arg(long)]
    pub allow_replace: bool,
    /// How long to wait for the stack lock held by another run (e.g. 30s, 5m) [default: 0, fail at once]
    #[arg(long, value_name = "DUR", value_parser = crate::lock::parse_duration)]
    pub lock_timeout: Option<Duration>,
    /// Apply this saved plan (from `plan --out`) instead of planning again
    #[arg(value_name = "PLANFILE")]
    pub plan_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DestroyArgs {
    /// Do not ask for confirmation (required without a terminal)
    #[arg(long)]
    pub auto_approve: bool,
    /// Delete every object, version and delete marker of the stack's buckets first
    #[arg(long)]
    pub empty_buckets: bool,
    /// How long to wait for the stack lock held by another run (e.g. 30s, 5m) [default: 0, fail at once]
    #[arg(long, value_name = "DUR", value_parser = crate::lock::parse_duration)]
    pub lock_timeout: Option<Duration>,
    /// Apply this saved destroy plan (from `plan --destroy --out`)
    #[arg(value_name = "PLANFILE")]
    pub plan_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct StagesArgs {
    /// Print the stages as a versioned JSON document
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct UnlockArgs {
    /// Do not ask for confirmation (required without a terminal)
    #[arg(long)]
    pub auto_approve: bool,
}

#[derive(Debug, Args)]
pub struct OutputsArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t = OutputFormat::Json)]
    pub format: OutputFormat,
    /// Write to PATH instead of standard output
    #[arg(long, value_name = "PATH")]
    pub write: Option<PathBuf>,
    /// Include secrets (API key values, client secrets)
    #[arg(long)]
    pub include_secrets: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Json,
    Env,
    Swift,
    Awsconfiguration,
    Amplify,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Which backend to start from
    #[arg(long, value_enum, default_value_t = Template::SwiftStarter)]
    pub template: Template,
    /// The stack's name [default: DIR's name, made a valid stack name]
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Where to write stacks/NAME.toml and policies/
    #[arg(value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
}

/// The stacks `init` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Template {
    /// The AmazonSwiftStarter tutorial's backend: guests reach only their own rows and photos
    SwiftStarter,
    /// A notes table with a stream and an index, and a versioned uploads bucket
    PhotoNotes,
    /// Email sign-in, a department attribute, an admins group and role rules
    UserPool,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: Shell,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write mobile-backend.1 and one mobile-backend-COMMAND.1 per command to DIR instead
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct AdoptArgs {
    /// Only resources whose names start with P
    #[arg(long, value_name = "P")]
    pub name_prefix: Option<String>,
    /// Also adopt this resource, by its AWS id (for names that are not unique or
    /// that the prefix misses); repeatable
    #[arg(long = "include", value_name = "KIND.KEY=ID")]
    pub include: Vec<String>,
    /// The stack's name [default: made from --name-prefix]
    #[arg(long, value_name = "N")]
    pub stack_name: Option<String>,
    /// Write the stack file to FILE, and its policies under `policies/` next to
    /// it (never overwriting); without it the stack file is printed
    #[arg(long, value_name = "FILE")]
    pub write: Option<PathBuf>,
}
