//! Responses checked against Rocket.Chat's own OpenAPI description
//! (`shared/reference/rocketchat-openapi/*.yaml`, beside this repository): for representative
//! successful calls of every endpoint family and for the seeds' error bodies, the body must
//! validate against the schema of that path, method and status. A field of another type than the
//! schema's is a failure; fields the schema does not list are allowed (it sets no
//! `additionalProperties`). Where the seeds and the schemas disagree, the seeds win, and the
//! case says so.

use std::path::PathBuf;

use serde_json::{json, Map, Value};

/// Where the YAML files are: `shared/` sits beside the repository, here and in CI.
/// `HUDDLE_OPENAPI_DIR` points elsewhere when needed.
fn spec_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("HUDDLE_OPENAPI_DIR") {
        return PathBuf::from(dir);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference/rocketchat-openapi")
}

/// The files that describe what Huddle speaks; each must be there.
const EXPECTED_FILES: &[&str] = &[
    "authentication.yaml",
    "messaging.yaml",
    "miscellaneous.yaml",
    "rooms.yaml",
    "settings.yaml",
    "user-management.yaml",
];

/// Rocket.Chat's OpenAPI documents, as JSON.
pub struct Spec {
    docs: Vec<(String, Value)>,
}

impl Spec {
    /// Loads every `*.yaml`; a missing or empty directory fails the test (it must never skip).
    pub fn load() -> Spec {
        let dir = spec_dir();
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| {
            panic!(
                "Rocket.Chat's OpenAPI description is missing: cannot read {} ({e}). \
                 The tests expect the shared/ folder beside the repository \
                 (shared/reference/rocketchat-openapi/*.yaml), or HUDDLE_OPENAPI_DIR.",
                dir.display()
            )
        });
        let mut docs = Vec::new();
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("read yaml");
            let doc: Value = serde_norway::from_str(&text)
                .unwrap_or_else(|e| panic!("{} is not valid YAML: {e}", path.display()));
            docs.push((path.display().to_string(), doc));
        }
        docs.sort_by(|a, b| a.0.cmp(&b.0));
        for name in EXPECTED_FILES {
            assert!(
                docs.iter().any(|(path, _)| path.ends_with(name)),
                "{name} is missing from {}: Rocket.Chat's OpenAPI description is incomplete",
                dir.display()
            );
        }
        Spec { docs }
    }

    /// The operation `method path`, with the document it is in.
    fn operation(&self, method: &str, path: &str) -> Option<(&Value, &Value)> {
        self.docs.iter().find_map(|(_, doc)| {
            let op = doc.get("paths")?.get(path)?.get(method)?;
            Some((doc, op))
        })
    }

    /// The JSON Schema (draft 4, `$ref`s inlined, `nullable` turned into a `null` type) of the
    /// JSON body of `method path` answering `status`; `None` when the operation or status is
    /// not described.
    pub fn schema(&self, method: &str, path: &str, status: u16) -> Option<Value> {
        let (doc, op) = self.operation(method, path)?;
        let response = resolve(doc, op.get("responses")?.get(status.to_string())?, 0);
        let schema = response
            .get("content")?
            .get("application/json")?
            .get("schema")?;
        Some(to_json_schema(schema))
    }
}

/// Inlines `$ref`s (`#/components/...` of the same document).
pub(super) fn resolve(doc: &Value, node: &Value, depth: usize) -> Value {
    assert!(depth < 64, "$ref chain too deep (a cycle?) at {node}");
    match node {
        Value::Object(o) => {
            if let Some(Value::String(r)) = o.get("$ref") {
                let pointer = r
                    .strip_prefix('#')
                    .unwrap_or_else(|| panic!("external $ref {r} is not supported"));
                let target = doc
                    .pointer(pointer)
                    .unwrap_or_else(|| panic!("dangling $ref {r}"));
                return resolve(doc, target, depth + 1);
            }
            Value::Object(
                o.iter()
                    .map(|(k, v)| (k.clone(), resolve(doc, v, depth)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| resolve(doc, v, depth)).collect()),
        other => other.clone(),
    }
}

/// OpenAPI 3.0 schema objects are draft-4 JSON Schema plus a few keywords: `nullable: true`
/// becomes a `null` alternative of `type`; `example(s)` are dropped (they are data, and older
/// than the schemas). Keys inside `properties` are field names, never keywords.
fn to_json_schema(node: &Value) -> Value {
    let Value::Object(o) = node else {
        return node.clone();
    };
    let mut out = Map::new();
    for (k, v) in o {
        match k.as_str() {
            "example" | "examples" | "nullable" => {}
            "properties" => {
                let props = v
                    .as_object()
                    .map(|p| {
                        p.iter()
                            .map(|(name, s)| (name.clone(), to_json_schema(s)))
                            .collect()
                    })
                    .unwrap_or_default();
                out.insert(k.clone(), Value::Object(props));
            }
            "items" | "additionalProperties" | "not" => {
                out.insert(k.clone(), to_json_schema(v));
            }
            "allOf" | "anyOf" | "oneOf" => {
                let list = v
                    .as_array()
                    .map(|l| l.iter().map(to_json_schema).collect())
                    .unwrap_or_default();
                out.insert(k.clone(), Value::Array(list));
            }
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    if o.get("nullable") == Some(&Value::Bool(true)) {
        if let Some(Value::String(t)) = out.get("type").cloned() {
            out.insert("type".into(), json!([t, "null"]));
        }
    }
    Value::Object(out)
}

/// Validates `body` against `schema`: each error as (instance path, message).
pub fn violations(schema: &Value, body: &Value) -> Vec<(String, String)> {
    let validator = jsonschema::draft4::new(schema)
        .unwrap_or_else(|e| panic!("the OpenAPI schema does not compile: {e}\n{schema:#}"));
    validator
        .iter_errors(body)
        .map(|e| (e.instance_path().to_string(), e.to_string()))
        .collect()
}

mod responses;

/// The checker itself: a wrong type is caught, an extra field is not, `nullable` admits null,
/// and `$ref`s resolve; otherwise a green run above would prove nothing.
#[test]
fn the_checker_catches_wrong_types_and_allows_extra_fields() {
    let spec = Spec::load();
    let schema = spec
        .schema("post", "/api/v1/channels.invite", 200)
        .expect("channels.invite 200 is described");
    let good = json!({ "channel": { "_id": "r", "msgs": 1, "extra": [1] }, "success": true });
    assert!(violations(&schema, &good).is_empty());
    let bad = json!({ "channel": { "_id": "r", "msgs": "1" }, "success": "true" });
    let found: Vec<String> = violations(&schema, &bad).into_iter().map(|v| v.0).collect();
    assert!(found.contains(&"/channel/msgs".to_string()), "{found:?}");
    assert!(found.contains(&"/success".to_string()), "{found:?}");

    let schema = spec
        .schema("post", "/api/v1/channels.invite", 401)
        .expect("channels.invite 401 is described");
    assert!(!violations(&schema, &json!({ "status": 1 })).is_empty());

    let nullable = to_json_schema(&json!({
        "type": "object",
        "properties": { "x": { "type": "string", "nullable": true } }
    }));
    assert!(violations(&nullable, &json!({ "x": null })).is_empty());
    assert!(!violations(&nullable, &json!({ "x": 1 })).is_empty());

    assert!(responses::path_matches(
        "/settings/*/value",
        "/settings/8/value"
    ));
    assert!(!responses::path_matches(
        "/settings/*/value",
        "/settings/x/value"
    ));
    assert!(!responses::path_matches(
        "/settings/*/value",
        "/settings/8/_id"
    ));

    let doc = json!({ "components": { "schemas": { "N": { "type": "integer" } } } });
    let resolved = resolve(
        &doc,
        &json!({ "properties": { "n": { "$ref": "#/components/schemas/N" } } }),
        0,
    );
    assert_eq!(resolved["properties"]["n"], json!({ "type": "integer" }));
}
