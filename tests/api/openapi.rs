//! The committed OpenAPI document is the one the code generates.
//! Regenerate with: cargo run -q -- openapi > openapi/openapi.json

use crate::support::library;
use serde_json::Value;
use std::collections::HashSet;

#[test]
fn committed_openapi_matches_the_code() {
    let generated = library::openapi_json();
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
    let doc: Value = serde_json::from_str(&library::openapi_json()).unwrap();
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

/// The problem responses any operation of a kind can give are documented on
/// every such operation (schemathesis found 403s and others undocumented).
#[test]
fn every_operation_documents_its_common_problems() {
    let doc: Value = serde_json::from_str(&library::openapi_json()).unwrap();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            let has = |status: &str| {
                let r = &responses[status];
                assert!(
                    r["content"]["application/problem+json"]["schema"]["$ref"]
                        == "#/components/schemas/Problem"
                        || !status.starts_with(['4', '5']),
                    "{method} {path} {status} is not problem+json"
                );
                responses.contains_key(status)
            };
            let mut expected = Vec::new();
            if op["security"].as_array().is_some_and(|s| !s.is_empty()) {
                expected.extend(["401", "403"]);
            }
            if op.get("requestBody").is_some() {
                expected.extend(["400", "413", "415", "422"]);
            }
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            if params.iter().any(|p| p["in"] == "query") {
                expected.push("422");
            }
            if params.iter().any(|p| p["in"] == "path") {
                expected.push("404");
            }
            if path != "/healthz" {
                expected.push("503");
            }
            for status in expected {
                assert!(
                    responses.contains_key(status) && has(status),
                    "{method} {path} does not document {status}"
                );
            }
        }
    }
}

/// Two enums named `Category` once shared one schema: notification
/// preferences were documented with the tip line's categories.
#[test]
fn notification_and_report_categories_are_distinct_schemas() {
    let doc: Value = serde_json::from_str(&library::openapi_json()).unwrap();
    let schemas = &doc["components"]["schemas"];
    let names = |name: &str| -> Vec<String> {
        schemas[name]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("{name} is an enum schema"))
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    assert!(names("NotificationCategory").contains(&"account".to_string()));
    assert!(names("Category").contains(&"sexual_abuse".to_string()));
    let pref = serde_json::to_string(&schemas["CategoryPreference"]).unwrap();
    assert!(
        pref.contains("#/components/schemas/NotificationCategory"),
        "{pref}"
    );
}
