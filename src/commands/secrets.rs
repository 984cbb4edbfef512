//! The secrets `outputs --include-secrets` shows: app client secrets and API
//! key values, read live.

use std::collections::BTreeMap;

use futures::future::join_all;

use super::{Failure, Result};
use crate::aws::Aws;
use crate::resource::{self, Live, ResourceType};
use crate::stack::Address;

/// Client secrets and API key values of the live resources: one read per app
/// client that has a secret and per API key, all at once.
pub(super) async fn read_secrets(
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
