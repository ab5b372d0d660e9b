//! The committed OpenAPI document is the one the code generates.
//! Regenerate with: cargo run -q -- openapi > openapi/openapi.json

use serde_json::Value;
use std::collections::HashSet;

#[test]
fn committed_openapi_matches_the_code() {
    let generated = safecampus::app::openapi_json();
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json"))
            .expect("openapi/openapi.json exists");
    assert!(
        committed == generated,
        "openapi/openapi.json is stale: run `cargo run -q -- openapi > openapi/openapi.json`"
    );
}

fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                if k == "$ref" {
                    if let Value::String(s) = child {
                        out.push(s.clone());
                    }
                }
                refs(child, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| refs(i, out)),
        _ => {}
    }
}

#[test]
fn the_document_is_openapi_3_and_every_reference_resolves() {
    let doc: Value = serde_json::from_str(&safecampus::app::openapi_json()).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.contains_key("/api/v1/auth/login"));
    let schemas: HashSet<String> = doc["components"]["schemas"]
        .as_object()
        .unwrap()
        .keys()
        .map(|k| format!("#/components/schemas/{k}"))
        .collect();
    let mut found = Vec::new();
    refs(&doc, &mut found);
    assert!(!found.is_empty());
    for r in found {
        assert!(schemas.contains(&r), "unresolved reference {r}");
    }
    // Every operation declares its responses and has a unique operationId.
    let mut ids = HashSet::new();
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            assert!(
                op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                "{method} {path}"
            );
            let id = op["operationId"].as_str().unwrap_or_default().to_string();
            assert!(ids.insert(id.clone()), "duplicate operationId {id}");
        }
    }
}
