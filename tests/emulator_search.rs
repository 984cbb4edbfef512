//! `[search.*]` end to end: CloudSearch against the project's stand-in of the
//! CloudSearch configuration API (no emulator has it; CloudSearch requests
//! never reach MiniStack), OpenSearch Service against MiniStack alone.

mod support;

#[path = "../src/bin/cloudsearch-standin/standin.rs"]
mod cloudsearch;

use std::collections::BTreeMap;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_cloudsearch::types::{
    Expression, IndexField, IndexFieldType, LiteralOptions, OptionState, PartitionInstanceType,
    ScalingParameters, TextOptions,
};
use aws_sdk_dynamodb::config::{Credentials, SharedCredentialsProvider};
use cloudsearch::{Settings, StandIn};
use support::{actions_of, read_call_log, summary, World};

const NOTES: &str = r#"
[search.notes]
engine = "cloudsearch"
fields = { headline = "text", note_text = "text", s3_url = "literal", user_id = "literal" }
"#;

fn cloudsearch_client(sdk: &SdkConfig, url: &str) -> aws_sdk_cloudsearch::Client {
    aws_sdk_cloudsearch::Client::from_conf(
        aws_sdk_cloudsearch::config::Builder::from(sdk)
            .endpoint_url(url)
            .build(),
    )
}

fn sdk_for(account: &str) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(mobile_backend::aws::limits::default_http_client())
        .region(Region::new(support::REGION))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            account, "test", None, None, "test",
        )))
        .build()
}

async fn fields(client: &aws_sdk_cloudsearch::Client, domain: &str) -> BTreeMap<String, String> {
    client
        .describe_index_fields()
        .domain_name(domain)
        .send()
        .await
        .expect("cloudsearch:DescribeIndexFields")
        .index_fields()
        .iter()
        .filter_map(|f| f.options())
        .map(|o| {
            (
                o.index_field_name().to_string(),
                o.index_field_type().as_str().to_string(),
            )
        })
        .collect()
}

/// Every operation the tool uses, answered by the stand-in and parsed by the
/// real aws-sdk-cloudsearch client (its own XML parser is the judge).
#[tokio::test]
async fn the_standin_speaks_xml_the_sdk_parses() {
    let standin = StandIn::start_with(Settings {
        processing_calls: 2,
        refuse_create: false,
    });
    let account = "210987654321";
    let c = cloudsearch_client(&sdk_for(account), &standin.url);

    let created = c
        .create_domain()
        .domain_name("movies")
        .send()
        .await
        .unwrap();
    let status = created.domain_status().unwrap();
    assert_eq!(status.domain_name(), "movies");
    assert_eq!(status.created(), Some(false));
    assert_eq!(
        status.arn(),
        Some("arn:aws:cloudsearch:us-east-1:210987654321:domain/movies")
    );

    let field = c
        .define_index_field()
        .domain_name("movies")
        .index_field(
            IndexField::builder()
                .index_field_name("title")
                .index_field_type(IndexFieldType::Text)
                .text_options(TextOptions::builder().return_enabled(true).build())
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let field = field.index_field().unwrap();
    assert_eq!(
        field.status().unwrap().state(),
        &OptionState::RequiresIndexDocuments
    );
    c.define_index_field()
        .domain_name("movies")
        .index_field(
            IndexField::builder()
                .index_field_name("genre")
                .index_field_type(IndexFieldType::Literal)
                .literal_options(
                    LiteralOptions::builder()
                        .facet_enabled(true)
                        .search_enabled(true)
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    let described = c
        .describe_index_fields()
        .domain_name("movies")
        .send()
        .await
        .unwrap();
    let by_name: BTreeMap<&str, &IndexField> = described
        .index_fields()
        .iter()
        .filter_map(|f| f.options())
        .map(|o| (o.index_field_name(), o))
        .collect();
    assert_eq!(
        by_name["title"].text_options().unwrap().return_enabled(),
        Some(true)
    );
    let genre = by_name["genre"].literal_options().unwrap();
    assert_eq!(genre.facet_enabled(), Some(true));
    assert_eq!(genre.sort_enabled(), None);

    let domains = c
        .describe_domains()
        .domain_names("movies")
        .send()
        .await
        .unwrap();
    let d = &domains.domain_status_list()[0];
    assert!(d.requires_index_documents());
    assert_eq!(d.processing(), Some(true));

    let indexed = c
        .index_documents()
        .domain_name("movies")
        .send()
        .await
        .unwrap();
    assert_eq!(indexed.field_names(), ["genre", "title"]);

    // Processing for two calls after the change, then done and created.
    for want in [true, true, false] {
        let domains = c
            .describe_domains()
            .domain_names("movies")
            .send()
            .await
            .unwrap();
        let d = &domains.domain_status_list()[0];
        assert_eq!(d.processing(), Some(want));
        assert!(!d.requires_index_documents());
    }
    let domains = c.describe_domains().send().await.unwrap();
    let d = &domains.domain_status_list()[0];
    assert_eq!(d.created(), Some(true));
    // Endpoints are URLs under the stand-in's own address.
    assert!(d
        .search_service()
        .and_then(|s| s.endpoint())
        .unwrap()
        .starts_with(&format!("{}/search-movies-", standin.url)));
    assert!(d
        .doc_service()
        .and_then(|s| s.endpoint())
        .unwrap()
        .starts_with(&format!("{}/doc-movies-", standin.url)));

    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":["cloudsearch:search"],"Condition":{"IpAddress":{"aws:SourceIp":"192.0.2.0/24"}}}]}"#;
    let updated = c
        .update_service_access_policies()
        .domain_name("movies")
        .access_policies(policy)
        .send()
        .await
        .unwrap();
    assert_eq!(updated.access_policies().unwrap().options(), policy);
    let described = c
        .describe_service_access_policies()
        .domain_name("movies")
        .send()
        .await
        .unwrap();
    assert_eq!(described.access_policies().unwrap().options(), policy);

    c.update_scaling_parameters()
        .domain_name("movies")
        .scaling_parameters(
            ScalingParameters::builder()
                .desired_instance_type(PartitionInstanceType::SearchSmall)
                .desired_replication_count(2)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let scaling = c
        .describe_scaling_parameters()
        .domain_name("movies")
        .send()
        .await
        .unwrap();
    let options = scaling.scaling_parameters().unwrap().options().unwrap();
    assert_eq!(
        options.desired_instance_type(),
        Some(&PartitionInstanceType::SearchSmall)
    );
    assert_eq!(options.desired_replication_count(), 2);

    c.define_expression()
        .domain_name("movies")
        .expression(
            Expression::builder()
                .expression_name("mb_owner_0123456789abcdef")
                .expression_value("0")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let expressions = c
        .describe_expressions()
        .domain_name("movies")
        .send()
        .await
        .unwrap();
    assert_eq!(
        expressions.expressions()[0]
            .options()
            .unwrap()
            .expression_name(),
        "mb_owner_0123456789abcdef"
    );

    let names = c.list_domain_names().send().await.unwrap();
    assert_eq!(
        names
            .domain_names()
            .unwrap()
            .get("movies")
            .map(String::as_str),
        Some("2013-01-01")
    );

    c.delete_index_field()
        .domain_name("movies")
        .index_field_name("genre")
        .send()
        .await
        .unwrap();
    let described = c
        .describe_index_fields()
        .domain_name("movies")
        .send()
        .await
        .unwrap();
    let genre = described
        .index_fields()
        .iter()
        .find(|f| f.options().unwrap().index_field_name() == "genre")
        .unwrap();
    assert_eq!(genre.status().unwrap().pending_deletion(), Some(true));

    let deleted = c
        .delete_domain()
        .domain_name("movies")
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.domain_status().unwrap().deleted(), Some(true));

    // Errors: AWS-shaped, with the SDK's codes.
    let err = c
        .describe_index_fields()
        .domain_name("movies")
        .send()
        .await
        .unwrap_err();
    let err = err.into_service_error();
    assert!(err.is_resource_not_found_exception(), "{err:?}");
    assert_eq!(
        aws_sdk_cloudsearch::error::ProvideErrorMetadata::code(&err),
        Some("ResourceNotFound")
    );
    // Another account sees nothing of this one.
    let other = cloudsearch_client(&sdk_for("210987654322"), &standin.url);
    c.create_domain().domain_name("mine").send().await.unwrap();
    let theirs = other.describe_domains().send().await.unwrap();
    assert!(theirs.domain_status_list().is_empty());

    let refusing = StandIn::start_with(Settings {
        processing_calls: 0,
        refuse_create: true,
    });
    let r = cloudsearch_client(&sdk_for(account), &refusing.url);
    let err = r
        .create_domain()
        .domain_name("movies")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_sdk_cloudsearch::error::ProvideErrorMetadata::code(&err.into_service_error()),
        Some("NotAuthorized")
    );
}

#[tokio::test]
async fn a_cloudsearch_domain_goes_up_converges_reindexes_on_field_changes_and_is_destroyed() {
    let standin = StandIn::start();
    let w = World::new("srch");
    let env = [("AWS_ENDPOINT_URL_CLOUDSEARCH", standin.url.as_str())];
    w.write_stack(NOTES);
    let domain = w.name("notes");

    w.run_env(&["validate"], &env, None).code(0);
    w.run_env(&["up", "--auto-approve"], &env, None)
        .code(0)
        .stderr_has("being created");
    let c = cloudsearch_client(&w.sdk, &standin.url);
    let want: BTreeMap<String, String> = [
        ("headline", "text"),
        ("note_text", "text"),
        ("s3_url", "literal"),
        ("user_id", "literal"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(fields(&c, &domain).await, want);
    assert_eq!(standin.calls(&w.account, "IndexDocuments"), 1);
    let d = c
        .describe_domains()
        .domain_names(&domain)
        .send()
        .await
        .unwrap();
    let d = &d.domain_status_list()[0];
    assert_eq!(d.processing(), Some(false), "up waited for processing");
    assert!(!d.requires_index_documents());

    let log = w.path("plan-calls.log");
    w.run_env(&["plan", "--detailed-exitcode"], &env, Some(&log))
        .code(0);
    let calls = read_call_log(&log);
    eprintln!("converged plan: {}", summary(&calls));
    assert!(
        !calls
            .iter()
            .any(|c| c.to_lowercase().contains("opensearch")),
        "{calls:?}"
    );
    let d = c
        .describe_domains()
        .domain_names(&domain)
        .send()
        .await
        .unwrap();
    let d = &d.domain_status_list()[0];
    assert!(d.search_service().and_then(|s| s.endpoint()).is_some());
    assert!(d.doc_service().and_then(|s| s.endpoint()).is_some());

    // One more field: an update, and a re-index.
    w.write_stack(&NOTES.replace(
        "user_id = \"literal\"",
        "user_id = \"literal\", created_at = { type = \"date\", sort = true }",
    ));
    let plan = w.run_env(&["plan", "--json"], &env, None);
    assert_eq!(actions_of(&plan.code(0).json(), "search.notes"), ["update"]);
    w.run_env(&["up", "--auto-approve"], &env, None).code(0);
    assert_eq!(fields(&c, &domain).await["created_at"], "date");
    assert_eq!(standin.calls(&w.account, "IndexDocuments"), 2);
    w.run_env(&["plan", "--detailed-exitcode"], &env, None)
        .code(0);

    w.run_env(&["destroy", "--auto-approve"], &env, None)
        .code(0);
    assert!(standin.domain_names(&w.account).is_empty());
}

#[tokio::test]
async fn a_domain_made_by_hand_is_not_ours() {
    let standin = StandIn::start_with(Settings {
        processing_calls: 0,
        refuse_create: false,
    });
    let w = World::new("srch");
    let env = [("AWS_ENDPOINT_URL_CLOUDSEARCH", standin.url.as_str())];
    w.write_stack(NOTES);
    let c = cloudsearch_client(&w.sdk, &standin.url);
    c.create_domain()
        .domain_name(w.name("notes"))
        .send()
        .await
        .unwrap();
    w.run_env(&["up", "--auto-approve"], &env, None)
        .code(1)
        .stdout_has("no mobile-backend ownership marker");
    assert_eq!(standin.calls(&w.account, "DefineIndexField"), 0);
}

#[tokio::test]
async fn an_account_closed_to_cloudsearch_is_pointed_to_opensearch() {
    let standin = StandIn::start_with(Settings {
        processing_calls: 0,
        refuse_create: true,
    });
    let w = World::new("srch");
    let env = [("AWS_ENDPOINT_URL_CLOUDSEARCH", standin.url.as_str())];
    w.write_stack(NOTES);
    w.run_env(&["up", "--auto-approve"], &env, None)
        .code(1)
        .stderr_has("closed to new customers")
        .stderr_has("engine = \"opensearch\"");
}

#[tokio::test]
async fn field_options_a_type_does_not_have_fail_validation() {
    let w = World::new("srch");
    w.write_stack(
        r#"
[search.notes]
fields = { headline = { type = "text", facet = true } }
"#,
    );
    w.run(&["validate"])
        .code(1)
        .stderr_has("a `text` field has no `facet` option");
}

#[tokio::test]
async fn an_opensearch_domain_goes_up_converges_and_is_destroyed_on_the_emulator_alone() {
    let w = World::new("srch");
    w.write_stack(&NOTES.replace("cloudsearch", "opensearch"));
    let domain = w.name("notes");
    let log = w.path("calls.log");
    w.run_logged(&["up", "--auto-approve"], &log).code(0);
    let os = aws_sdk_opensearch::Client::from_conf(
        aws_sdk_opensearch::config::Builder::from(&w.sdk)
            .endpoint_url(&w.endpoint)
            .build(),
    );
    let d = os
        .describe_domain()
        .domain_name(&domain)
        .send()
        .await
        .unwrap();
    let status = d.domain_status().unwrap();
    let arn = status.arn().to_string();
    let tags: BTreeMap<String, String> = os
        .list_tags()
        .arn(&arn)
        .send()
        .await
        .unwrap()
        .tag_list()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
    assert_eq!(tags[support::OWNER_STACK_TAG], w.stack);
    assert_eq!(tags[support::OWNER_ID_TAG], "search.notes");
    assert_eq!(tags["team"], "mobile");

    let plan_log = w.path("plan-calls.log");
    w.run_logged(&["plan", "--detailed-exitcode"], &plan_log)
        .code(0);
    eprintln!("converged plan: {}", summary(&read_call_log(&plan_log)));

    // A bigger volume is an update in place.
    w.write_stack(&format!(
        "{}ebs_volume_size = 20\n",
        NOTES.replace("cloudsearch", "opensearch")
    ));
    let plan = w.run(&["plan", "--json"]);
    assert_eq!(actions_of(&plan.code(0).json(), "search.notes"), ["update"]);
    w.run_logged(&["up", "--auto-approve"], &log).code(0);
    let d = os
        .describe_domain()
        .domain_name(&domain)
        .send()
        .await
        .unwrap();
    assert_eq!(
        d.domain_status()
            .unwrap()
            .ebs_options()
            .and_then(|e| e.volume_size()),
        Some(20)
    );

    w.run_logged(&["destroy", "--auto-approve"], &log).code(0);
    let gone = os.describe_domain().domain_name(&domain).send().await;
    let deleted = match gone {
        Err(_) => true,
        Ok(d) => d.domain_status().and_then(|s| s.deleted()) == Some(true),
    };
    assert!(deleted, "the domain is gone");
    // Not one CloudSearch request: there is no CloudSearch on the emulator.
    let calls = read_call_log(&log);
    assert!(
        !calls
            .iter()
            .any(|c| c.to_lowercase().contains("cloudsearch")),
        "{calls:?}"
    );
}

#[tokio::test]
async fn changing_the_engine_replaces_the_domain() {
    let standin = StandIn::start_with(Settings {
        processing_calls: 1,
        refuse_create: false,
    });
    let w = World::new("srch");
    let env = [("AWS_ENDPOINT_URL_CLOUDSEARCH", standin.url.as_str())];
    w.write_stack(NOTES);
    w.run_env(&["up", "--auto-approve"], &env, None).code(0);
    w.write_stack(&NOTES.replace("cloudsearch", "opensearch"));
    let plan = w.run_env(&["plan", "--json"], &env, None);
    let plan = plan.code(0).json();
    let actions = actions_of(&plan, "search.notes");
    assert!(
        actions.contains(&"delete".to_string()) && actions.contains(&"create".to_string()),
        "{actions:?}"
    );
    // A search domain holds its index: replacing it needs --allow-replace.
    w.run_env(&["up", "--auto-approve"], &env, None).code(1);
    w.run_env(&["up", "--auto-approve", "--allow-replace"], &env, None)
        .code(0);
    assert!(standin.domain_names(&w.account).is_empty());
    w.run_env(&["plan", "--detailed-exitcode"], &env, None)
        .code(0);
    w.run_env(&["destroy", "--auto-approve"], &env, None)
        .code(0);
}

#[tokio::test]
async fn wait_false_returns_without_waiting_and_a_later_plan_converges() {
    let standin = StandIn::start_with(Settings {
        processing_calls: 50,
        refuse_create: false,
    });
    let w = World::new("srch");
    let env = [("AWS_ENDPOINT_URL_CLOUDSEARCH", standin.url.as_str())];
    w.write_stack(&format!("{NOTES}wait = false\n"));
    let up = w.run_env(&["up", "--auto-approve"], &env, None);
    up.code(0);
    assert!(!up.stderr.contains("waiting"), "{}", up.dump());
    // Still processing on the service's side; the configuration is in place.
    w.run_env(&["plan", "--detailed-exitcode"], &env, None)
        .code(0);
    w.run_env(&["destroy", "--auto-approve"], &env, None)
        .code(0);
}
