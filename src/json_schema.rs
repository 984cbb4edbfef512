//! `mobile-backend schema`: the JSON Schema of the stack file, for TOML editors
//! (Even Better TOML / taplo: `#:schema ./mobile-backend.schema.json` on a stack
//! file's first line).
//!
//! It is generated, never written by hand: every table's shape comes from the
//! serde types the loader deserializes that table into (`stack::schema`, which
//! derive `JsonSchema`), so a key, type or allowed value the parser accepts is
//! the one the schema describes. `deny_unknown_fields` becomes
//! `additionalProperties: false`; doc comments become descriptions. Only the
//! top level is spelled out here, because the loader walks it by hand rather
//! than through one serde type: `[stack]` plus one table per kind of the
//! registry, each holding resources by key in the kind's spec type.
//!
//! Draft-07, not 2020-12: it is the newest draft that the TOML editors'
//! validators all read. There is no `$id`: the schema is a local file, and a
//! made-up URL would change how editors resolve its `$ref`s.

use std::borrow::Cow;

use schemars::generate::{SchemaGenerator, SchemaSettings};
use schemars::transform::RecursiveTransform;
use schemars::{json_schema, JsonSchema, Schema};
use serde_json::{json, Value};

use crate::resource::registry::{KindVisitor, ResourceKind};
use std::collections::BTreeMap;

use crate::stack::schema::{StackSection, StageSection, VarsSection};
use crate::stack::Kind;

/// A resource key (`[table.<key>]`): the loader's rule, 1 to 64 characters of
/// `[a-z0-9_-]`, starting with a letter.
const RESOURCE_KEY_PATTERN: &str = "^[a-z][a-z0-9_-]{0,63}$";

/// The whole stack file. Shape only: the loader reads the top level itself
/// (`stack::load`): `[stack]`, then one table per kind of the registry, each
/// holding resources by key in the kind's spec type.
struct StackFile;

impl JsonSchema for StackFile {
    fn schema_name() -> Cow<'static, str> {
        "StackFile".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let mut properties = serde_json::Map::new();
        properties.insert(
            "vars".into(),
            generator.subschema_for::<VarsSection>().to_value(),
        );
        properties.insert(
            "stages".into(),
            generator
                .subschema_for::<BTreeMap<String, StageSection>>()
                .to_value(),
        );
        properties.insert(
            "stack".into(),
            generator.subschema_for::<StackSection>().to_value(),
        );
        for kind in Kind::ALL {
            properties.insert(kind.as_str().into(), kind.visit(KindTable(generator)));
        }
        json_schema!({
            "type": "object",
            "additionalProperties": false,
            "properties": properties,
            "required": ["stack"],
            "title": "mobile-backend stack file",
            "description": "One TOML file that describes an AWS mobile backend: `[stack]`, then one table per resource, `[<kind>.<key>]`. Strings may hold references, `${kind.key.attr}`, `${stack.name}`, `${stack.stage}`, `${var.name}`, `${aws.account_id}` and `${aws.region}`; file paths are relative to the stack file."
        })
    }
}

/// The schema of one kind's top-level table: its resources by key, each in
/// the kind's spec type; keys follow the loader's rule.
struct KindTable<'g>(&'g mut SchemaGenerator);

impl KindVisitor for KindTable<'_> {
    type Output = Value;
    fn visit<K: ResourceKind>(self) -> Value {
        json!({
            "type": "object",
            "additionalProperties": self.0.subschema_for::<K::Spec>(),
            "description": K::DESCRIPTION,
            "propertyNames": { "pattern": RESOURCE_KEY_PATTERN },
        })
    }
}

/// TOML has no null: an optional key is left out, never written as null, so
/// null is taken out of every type (`Option<T>` is just `T`) and default. And
/// a doc comment's line breaks are joined, so an editor wraps the text itself.
fn for_toml(schema: &mut Schema) {
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    if let Some(Value::Array(types)) = object.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let only = types.remove(0);
            object.insert("type".into(), only);
        }
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(branches)) = object.get_mut(key) {
            branches.retain(|b| b.get("type") != Some(&json!("null")));
        }
    }
    if object.get("default") == Some(&Value::Null) {
        object.remove("default");
    }
    if let Some(Value::String(description)) = object.get_mut("description") {
        *description = description
            .split("\n\n")
            .map(|paragraph| paragraph.split('\n').collect::<Vec<_>>().join(" "))
            .collect::<Vec<_>>()
            .join("\n\n");
    }
}

/// The schema as a JSON value.
pub fn stack_file_schema() -> serde_json::Value {
    let generator = SchemaSettings::draft07()
        .with_transform(RecursiveTransform(for_toml))
        .into_generator();
    let mut schema = generator.into_root_schema_for::<StackFile>();
    schema.insert(
        "$comment".into(),
        json!(format!(
            "Generated by `mobile-backend schema` ({} {}) from the types its parser uses.",
            env!("CARGO_PKG_NAME"),
            env!("CARGO_PKG_VERSION")
        )),
    );
    schema.to_value()
}

/// The schema as pretty-printed JSON with a final newline.
pub fn render() -> String {
    let mut text = serde_json::to_string_pretty(&stack_file_schema())
        .unwrap_or_else(|e| format!("{{\"error\": \"cannot render the schema: {e}\"}}"));
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::Kind;

    #[test]
    fn the_top_level_is_the_stack_table_and_exactly_the_kinds_the_loader_knows() {
        let schema = stack_file_schema();
        let properties: Vec<&str> = schema["properties"]
            .as_object()
            .expect("properties")
            .keys()
            .map(String::as_str)
            .collect();
        let mut want: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
        want.extend(["stack", "vars", "stages"]);
        let (mut have, mut want) = (properties.clone(), want);
        have.sort_unstable();
        want.sort_unstable();
        assert_eq!(have, want);
        assert_eq!(schema["required"], json!(["stack"]));
        assert_eq!(schema["additionalProperties"], json!(false));
    }

    #[test]
    fn unknown_keys_are_refused_in_every_table_shape() {
        let schema = stack_file_schema();
        let definitions = schema["definitions"].as_object().expect("definitions");
        for (name, definition) in definitions {
            if definition["type"] == json!("object") && definition.get("properties").is_some() {
                assert_eq!(
                    definition["additionalProperties"],
                    json!(false),
                    "{name} accepts unknown keys"
                );
            }
        }
    }
}
