//! Responses checked against Rocket.Chat's own OpenAPI description: for representative
//! successful calls of every endpoint family and for the seeds' error bodies, the body must
//! validate against the schema of that path, method and status. A field of another type than the
//! schema's is a failure; fields the schema does not list are allowed (it sets no
//! `additionalProperties`). Where the seeds and the schemas disagree, the seeds win, and the
//! case says so.
//!
//! The schemas come from a committed fixture (`fixture/responses.json`, made by `fixture.rs`
//! from `shared/reference/rocketchat-openapi` beside the repository), so a clone alone runs
//! these tests; `scripts/openapi-fixture` regenerates it.

use serde_json::{json, Map, Value};

/// The response schemas the tests use, as the fixture holds them.
pub struct Spec {
    responses: Map<String, Value>,
}

impl Spec {
    /// Reads the committed fixture; a missing or malformed one fails the test.
    pub fn load() -> Spec {
        let path = fixture::fixture_path();
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "cannot read the OpenAPI fixture {} ({e}); run scripts/openapi-fixture",
                path.display()
            )
        });
        let doc: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
        let responses = doc
            .get("responses")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_else(|| panic!("{} has no `responses` object", path.display()));
        Spec { responses }
    }

    /// The JSON Schema (draft 4, `$ref`s inlined, `nullable` turned into a `null` type) of the
    /// JSON body of `method path` answering `status`; `None` when Rocket.Chat's description
    /// does not describe it. Asking for a response the fixture was not made with fails: add it
    /// to `fixture::OPERATIONS` and run `scripts/openapi-fixture`.
    pub fn schema(&self, method: &str, path: &str, status: u16) -> Option<Value> {
        let key = fixture::key(method, path, status);
        match self.responses.get(&key) {
            Some(Value::Null) => None,
            Some(schema) => Some(schema.clone()),
            None => panic!(
                "`{key}` is not in the OpenAPI fixture: add it to OPERATIONS in \
                 tests/api/openapi/fixture.rs and run scripts/openapi-fixture"
            ),
        }
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
pub(super) fn to_json_schema(node: &Value) -> Value {
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

mod discussions;
mod fixture;
mod parity;
mod responses;
mod served;

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
