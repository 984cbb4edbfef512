//! mobile-backend: provision an AWS mobile backend from one declarative TOML
//! stack file. See DESIGN.md in the shared folder for the contract; the layers
//! are `stack` (file → validated stack), `resource` (one file per kind),
//! `plan` (pure diff), `apply` (bounded graph walk) and `render`.

pub mod adopt;
pub mod apply;
pub mod aws;
pub mod cli;
pub mod commands;
pub mod json_schema;
pub mod lock;
pub mod outputs;
pub mod plan;
pub mod render;
pub mod resource;
pub mod stack;
pub mod templates;
