//! Everything in a test's account, of the kinds the tool manages, with each
//! resource's ownership tags: what "nothing duplicated, nothing orphaned,
//! nothing left" is checked against.

use super::{World, OWNER_ID_TAG, OWNER_STACK_TAG};

/// One resource found in the account, with its ownership tags.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Found {
    pub kind: &'static str,
    pub name: String,
    /// `mobile-backend:stack` and `mobile-backend:id`, when tagged.
    pub stack_tag: Option<String>,
    pub id_tag: Option<String>,
}

fn tags_of<'a>(
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> (Option<String>, Option<String>) {
    let mut stack = None;
    let mut id = None;
    for (k, v) in pairs {
        if k == OWNER_STACK_TAG {
            stack = Some(v.to_string());
        }
        if k == OWNER_ID_TAG {
            id = Some(v.to_string());
        }
    }
    (stack, id)
}

/// Everything in the account of the kinds the stack uses (the Lambda
/// functions a test makes itself and their role aside), with the ownership
/// tags.
pub async fn inventory(w: &World) -> Vec<Found> {
    let mut found = Vec::new();
    let mut push = |kind, name: String, (stack_tag, id_tag): (Option<String>, Option<String>)| {
        found.push(Found {
            kind,
            name,
            stack_tag,
            id_tag,
        })
    };
    for t in w.table_names().await {
        let tags = w.table_tags(&t).await;
        let pairs = tags_of(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        push("table", t, pairs);
    }
    for b in w.bucket_names().await {
        let tags = w.bucket_tags(&b).await;
        let pairs = tags_of(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        push("bucket", b, pairs);
    }
    let idp = w.idp();
    let pools = idp
        .list_user_pools()
        .max_results(60)
        .send()
        .await
        .expect("ListUserPools");
    for p in pools.user_pools() {
        let id = p.id().unwrap_or_default();
        let pool = idp
            .describe_user_pool()
            .user_pool_id(id)
            .send()
            .await
            .expect("DescribeUserPool");
        let tags = pool
            .user_pool()
            .and_then(|u| u.user_pool_tags())
            .cloned()
            .unwrap_or_default();
        let pairs = tags_of(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        push("user pool", p.name().unwrap_or_default().to_string(), pairs);
        let clients = idp
            .list_user_pool_clients()
            .user_pool_id(id)
            .max_results(60)
            .send()
            .await
            .expect("ListUserPoolClients");
        for c in clients.user_pool_clients() {
            // Clients have no tags: they belong to their pool.
            push(
                "app client",
                c.client_name().unwrap_or_default().to_string(),
                (None, None),
            );
        }
    }
    let identity = w.identity();
    let pools = identity
        .list_identity_pools()
        .max_results(60)
        .send()
        .await
        .expect("ListIdentityPools");
    for p in pools.identity_pools() {
        let pool = identity
            .describe_identity_pool()
            .identity_pool_id(p.identity_pool_id().unwrap_or_default())
            .send()
            .await
            .expect("DescribeIdentityPool");
        let tags = pool.identity_pool_tags().cloned().unwrap_or_default();
        let pairs = tags_of(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        push(
            "identity pool",
            p.identity_pool_name().unwrap_or_default().to_string(),
            pairs,
        );
    }
    let iam = w.iam();
    let roles = iam.list_roles().send().await.expect("ListRoles");
    for r in roles.roles() {
        if r.role_name() == "lambda-basic" {
            continue; // the test's functions' role
        }
        let tags = iam
            .list_role_tags()
            .role_name(r.role_name())
            .send()
            .await
            .expect("ListRoleTags");
        let pairs = tags_of(tags.tags().iter().map(|t| (t.key(), t.value())));
        push("role", r.role_name().to_string(), pairs);
    }
    let apigateway = w.apigateway();
    let apis = apigateway
        .get_rest_apis()
        .limit(500)
        .send()
        .await
        .expect("GetRestApis");
    for a in apis.items() {
        let tags = a.tags().cloned().unwrap_or_default();
        let pairs = tags_of(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        push("rest api", a.name().unwrap_or_default().to_string(), pairs);
    }
    let keys = apigateway
        .get_api_keys()
        .limit(500)
        .send()
        .await
        .expect("GetApiKeys");
    for k in keys.items() {
        let tags = k.tags().cloned().unwrap_or_default();
        let pairs = tags_of(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        push("api key", k.name().unwrap_or_default().to_string(), pairs);
    }
    let plans = apigateway
        .get_usage_plans()
        .limit(500)
        .send()
        .await
        .expect("GetUsagePlans");
    for p in plans.items() {
        let tags = p.tags().cloned().unwrap_or_default();
        let pairs = tags_of(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        push(
            "usage plan",
            p.name().unwrap_or_default().to_string(),
            pairs,
        );
    }
    let opensearch = w.opensearch();
    let domains = opensearch
        .list_domain_names()
        .send()
        .await
        .expect("ListDomainNames");
    for d in domains.domain_names() {
        let name = d.domain_name().unwrap_or_default().to_string();
        let status = opensearch
            .describe_domain()
            .domain_name(&name)
            .send()
            .await
            .expect("DescribeDomain");
        let arn = status
            .domain_status()
            .map(|s| s.arn().to_string())
            .unwrap_or_default();
        let tags = opensearch
            .list_tags()
            .arn(arn)
            .send()
            .await
            .expect("ListTags");
        let pairs = tags_of(tags.tag_list().iter().map(|t| (t.key(), t.value())));
        push("search domain", name, pairs);
    }
    let lambda = w.lambda();
    let functions = lambda
        .list_functions()
        .max_items(50)
        .send()
        .await
        .expect("ListFunctions");
    for f in functions.functions() {
        if f.role().is_some_and(|r| r.ends_with(":role/lambda-basic")) {
            continue; // made by the test (`World::create_function`)
        }
        let name = f.function_name().unwrap_or_default().to_string();
        let tags = lambda
            .list_tags()
            .resource(f.function_arn().unwrap_or_default())
            .send()
            .await
            .expect("lambda:ListTags");
        let tags = tags.tags().cloned().unwrap_or_default();
        let pairs = tags_of(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        push("function", name, pairs);
    }
    let mappings = lambda
        .list_event_source_mappings()
        .max_items(100)
        .send()
        .await
        .expect("ListEventSourceMappings");
    for m in mappings.event_source_mappings() {
        // Mappings carry no tags of the tool's: they belong to their function.
        let function = m.function_arn().unwrap_or_default();
        let function = function.rsplit(':').next().unwrap_or_default();
        push("stream trigger", function.to_string(), (None, None));
    }
    let cloudfront = w.cloudfront();
    let distributions = cloudfront
        .list_distributions()
        .send()
        .await
        .expect("ListDistributions");
    for d in distributions
        .distribution_list()
        .map(|l| l.items())
        .unwrap_or_default()
    {
        let tags = cloudfront
            .list_tags_for_resource()
            .resource(d.arn())
            .send()
            .await
            .expect("cloudfront:ListTagsForResource");
        let items = tags.tags().map(|t| t.items()).unwrap_or_default();
        let pairs = tags_of(
            items
                .iter()
                .map(|t| (t.key(), t.value().unwrap_or_default())),
        );
        // A distribution has no name: its origins' ids (the tool's is its name).
        let origins: Vec<&str> = d
            .origins()
            .map(|o| o.items())
            .unwrap_or_default()
            .iter()
            .map(|o| o.id())
            .collect();
        push("distribution", origins.join(","), pairs);
    }
    let controls = cloudfront
        .list_origin_access_controls()
        .send()
        .await
        .expect("ListOriginAccessControls");
    for c in controls
        .origin_access_control_list()
        .map(|l| l.items())
        .unwrap_or_default()
    {
        // Origin access controls have no tags: they belong to their distribution.
        push("origin access control", c.name().to_string(), (None, None));
    }
    found.sort();
    found
}
