//! Checks in a fixed order on every write route (issue 12, part 6): with a
//! body the route refuses, a caller learns first that they are not signed in
//! (401), then that their role may not use the route (403), then that the
//! object is not theirs to name (404), and only then what is wrong with the
//! body (400/413/415/422). A caller without the right must never learn the
//! body's rules. The routes come from the OpenAPI document, so a new write
//! route is walked as soon as it is documented.

use crate::support::scene::{objects_of, scene};
use crate::support::walk::*;
use crate::support::*;
use serde_json::{json, Value};
use std::collections::HashMap;

const WRITES: &[&str] = &["POST", "PUT", "PATCH", "DELETE"];
/// The answers about a body: malformed, too large, wrong media type, invalid.
const BODY: &[u16] = &[400, 413, 415, 422];
/// Roles whose scope is the whole district: another school's objects are
/// theirs to name.
const DISTRICT_WIDE: &[&str] = &["district_admin", "bureau_officer"];

fn bogus() -> Value {
    json!({"__bogus": 1})
}

fn url_for(doc: &Value, op: &Op, ids: &HashMap<&'static str, String>) -> String {
    let path = fill(&op.path, ids).unwrap_or_else(|| fill(&op.path, &nowhere_ids()).unwrap());
    with_query(doc, &op.op, path)
}

fn seen(r: &Resp) -> String {
    format!("{} {}", r.status, r.code())
}

async fn every_write_route_checks_sign_in_then_role_then_scope_then_body(app: TestApp) {
    let doc = document();
    let sc = scene(&app).await;
    let w = &sc.w;
    let mine = objects_of(&app, &w.x, &w.x.student_id, &w.x.parent, &w.x.admin).await;
    let theirs = objects_of(&app, &w.y, &w.y.student_id, &w.y.parent, &w.y.admin).await;
    let matrix = role_matrix();
    let body = bogus();
    let mut failures = Vec::new();
    let mut walked = 0;
    for op in operations(&doc) {
        if !WRITES.contains(&op.method.as_str()) {
            continue;
        }
        walked += 1;
        let route = format!("{} {} ({})", op.method, op.path, op.id);
        let mut fail = |step: &str, what: String| failures.push(format!("{route}: {step}: {what}"));
        let url = url_for(&doc, &op, &mine);
        let secured = op.op["security"].is_array();
        let has_body = request_schema(&doc, &op.op).is_some();
        let allowed: Vec<&str> = match matrix.get(op.id.as_str()) {
            Some(roles) => roles.to_vec(),
            None => sc.roles.keys().copied().collect(),
        };

        // 1. No token: 401, whatever the body.
        if secured {
            let r = app.send(&op.method, &url, None, Some(&body), &[]).await;
            if (r.status, r.code().as_str()) != (401, "unauthorized") {
                fail("1 no token, expected 401", seen(&r));
            }
        }

        // 2. A signed-in role the route is not for: refused before the body
        // (403; 404 where the matrix lets the refusal be a scope's).
        if secured {
            for (role, s) in &sc.roles {
                if allowed.contains(role) {
                    continue;
                }
                let r = app
                    .send(&op.method, &url, Some(&s.token), Some(&body), &[])
                    .await;
                if r.status != 403 && r.status != 404 {
                    fail(&format!("2 role {role}, expected 403"), seen(&r));
                }
            }
        }

        // 3. A role the route is for, naming another school's (and family's)
        // object: 404 before the body.
        let names_objects =
            !params(&op.path).is_empty() && !PUBLIC_OBJECTS.iter().any(|(p, _)| *p == op.path);
        // A route only district roles may call has no other school: its
        // scope is the whole district.
        let district_only = allowed.iter().all(|r| DISTRICT_WIDE.contains(r));
        if secured && names_objects && !district_only {
            let foreign = url_for(&doc, &op, &theirs);
            let guarded = matrix.contains_key(op.id.as_str());
            let mut reached = false;
            for role in allowed.iter().filter(|r| !DISTRICT_WIDE.contains(r)) {
                let s = &sc.roles[role];
                let r = app
                    .send(&op.method, &foreign, Some(&s.token), Some(&body), &[])
                    .await;
                reached |= r.status == 404;
                // A route open to every role may still refuse some of them (403).
                let refused = r.status == 404 || (!guarded && r.status == 403);
                if !refused {
                    fail(
                        &format!("3 role {role} on another school's object, expected 404"),
                        seen(&r),
                    );
                }
            }
            if !reached {
                fail(
                    "3 another school's object",
                    "no role the route is for got 404".into(),
                );
            }
        }

        // 4. The right caller and the right object: the body is what is wrong.
        if has_body {
            let callers: Vec<(&str, Option<&str>)> = if secured {
                allowed
                    .iter()
                    .map(|role| (*role, Some(sc.roles[role].token.as_str())))
                    .collect()
            } else {
                vec![("anonymous", None)]
            };
            let mut reached = false;
            for (who, token) in callers {
                let r = app.send(&op.method, &url, token, Some(&body), &[]).await;
                if BODY.contains(&r.status) {
                    reached = true;
                } else if !(secured && (r.status == 403 || r.status == 404)) {
                    fail(
                        &format!("4 {who} with an invalid body, expected 400/413/415/422"),
                        seen(&r),
                    );
                }
            }
            if !reached {
                fail(
                    "4 invalid body",
                    "no caller the route is for reached the body check".into(),
                );
            }
        }
    }
    assert!(walked > 40, "only {walked} write routes in the document");
    assert!(
        failures.is_empty(),
        "{} check(s) out of order:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

on_both_databases!(every_write_route_checks_sign_in_then_role_then_scope_then_body);
