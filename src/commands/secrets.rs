//! The secrets `outputs --include-secrets` shows (app client secrets and API
//! key values), read live from every resource whose kind has any.

use std::collections::BTreeMap;

use futures::future::join_all;

use super::{Failure, Result};
use crate::aws::Aws;
use crate::resource::{self, Live};
use crate::stack::Address;

/// The secret outputs of the live resources, each kind asked at once (one
/// read per app client that has a secret and per API key; none for kinds
/// without secrets).
pub(super) async fn read_secrets(
    aws: &Aws,
    lives: &BTreeMap<Address, Live>,
) -> Result<crate::outputs::Secrets> {
    let reads = join_all(lives.values().map(|l| resource::read_secrets(aws, l))).await;
    let mut secrets = crate::outputs::Secrets::default();
    let mut errors = Vec::new();
    for (l, read) in lives.values().zip(reads) {
        match read {
            Ok(found) if found.is_empty() => {}
            Ok(found) => {
                secrets.0.insert(l.address.clone(), found);
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
