#![warn(unreachable_pub)]
//! mobile-backend: provision an AWS mobile backend from one declarative TOML
//! stack file. See DESIGN.md in the shared folder for the contract; the layers
//! are `stack` (file → validated stack), `resource` (one file per kind),
//! `plan` (pure diff), `apply` (bounded graph walk) and `render`.

pub(crate) mod adopt;
pub(crate) mod apply;
pub mod aws;
pub mod cli;
pub mod commands;
pub mod json_schema;
pub mod lock;
pub(crate) mod outputs;
pub(crate) mod plan;
pub(crate) mod progress;
pub(crate) mod render;
pub(crate) mod resource;
pub mod stack;
pub mod templates;
