//! A walk through the OWASP API Security Top 10 (2023) for this API, black
//! box over HTTP. Route lists come from the OpenAPI document (and, for the
//! inventory, from the router itself), so a new route is covered — or makes
//! a test fail until someone says how it is protected.

use crate::support::library::{self, envelope, hpke, pow};
use crate::support::receivers::WebhookReceiver;
use crate::support::scene::{id_of, objects_of, scene};
use crate::support::tipline::{designate, register_key, release_windows, solve_pow};
use crate::support::tipline_client::seal_text;
use crate::support::walk::*;
use crate::support::*;
use actix_web::{web, HttpRequest};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};

// --- small helpers --------------------------------------------------------------------

async fn call(
    app: &TestApp,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Resp {
    app.send(method, path, token, body, &[]).await
}

fn any_id_in(text: &str, ids: &HashMap<&'static str, String>) -> Option<String> {
    ids.iter()
        .find(|(_, id)| text.contains(id.as_str()))
        .map(|(k, id)| format!("{k} {id}"))
}

// --- API9: inventory --------------------------------------------------------------------

/// Routes the router serves but the document does not describe, with why.
const UNDOCUMENTED: &[(&str, &str)] = &[(
    "/api/v1/openapi.json",
    "the document itself; describing it inside itself would say nothing",
)];

const DUMP: &str = "/__security_test_route_dump";

/// Every route (path pattern, once per registered resource) the router
/// serves, read from actix's resource tree.
async fn served_routes(app: &TestApp) -> Vec<String> {
    let srv = actix_web::test::init_service(library::build_app(app.state.clone()).route(
        DUMP,
        web::get().to(|req: HttpRequest| async move { format!("{:?}", req.resource_map()) }),
    ))
    .await;
    let req = actix_web::test::TestRequest::get().uri(DUMP).to_request();
    let dump = String::from_utf8(
        actix_web::test::call_and_read_body(&srv, req)
            .await
            .to_vec(),
    )
    .unwrap();
    let tree = debug_tree::parse(&dump);
    let mut out = Vec::new();
    debug_tree::routes(&tree, "", &mut out);
    out.retain(|p| p != DUMP);
    out
}

/// A reader for the `Debug` text of actix's `ResourceMap`, which has no
/// public way to list its resources.
mod debug_tree {
    #[derive(Debug)]
    pub enum D {
        Atom(String),
        Str(String),
        Node(String, Vec<(Option<String>, D)>),
    }

    pub fn parse(s: &str) -> D {
        let chars: Vec<char> = s.chars().collect();
        let mut pos = 0;
        value(&chars, &mut pos)
    }

    fn skip_ws(c: &[char], pos: &mut usize) {
        while *pos < c.len() && c[*pos].is_whitespace() {
            *pos += 1;
        }
    }

    fn string(c: &[char], pos: &mut usize) -> String {
        let quote = c[*pos];
        *pos += 1;
        let mut out = String::new();
        while c[*pos] != quote {
            if c[*pos] == '\\' {
                *pos += 1;
            }
            out.push(c[*pos]);
            *pos += 1;
        }
        *pos += 1;
        out
    }

    fn items(c: &[char], pos: &mut usize, close: char) -> Vec<(Option<String>, D)> {
        let mut out = Vec::new();
        loop {
            skip_ws(c, pos);
            if c[*pos] == close {
                *pos += 1;
                return out;
            }
            let first = value(c, pos);
            skip_ws(c, pos);
            if c[*pos] == ':' && c.get(*pos + 1) != Some(&':') {
                *pos += 1;
                let key = match first {
                    D::Atom(a) | D::Str(a) => a,
                    D::Node(n, _) => n,
                };
                let v = value(c, pos);
                out.push((Some(key), v));
            } else {
                out.push((None, first));
            }
            skip_ws(c, pos);
            if c[*pos] == ',' {
                *pos += 1;
            }
        }
    }

    fn value(c: &[char], pos: &mut usize) -> D {
        skip_ws(c, pos);
        match c[*pos] {
            '"' | '\'' => D::Str(string(c, pos)),
            '{' | '(' | '[' => {
                let close = match c[*pos] {
                    '{' => '}',
                    '(' => ')',
                    _ => ']',
                };
                *pos += 1;
                D::Node(String::new(), items(c, pos, close))
            }
            _ => {
                let start = *pos;
                while *pos < c.len()
                    && !matches!(c[*pos], '{' | '}' | '(' | ')' | '[' | ']' | ',' | ':' | ' ')
                    || (*pos + 1 < c.len() && c[*pos] == ':' && c[*pos + 1] == ':')
                {
                    if c[*pos] == ':' {
                        *pos += 1;
                    }
                    *pos += 1;
                }
                let name: String = c[start..*pos].iter().collect();
                let mut look = *pos;
                skip_ws(c, &mut look);
                if look < c.len() && matches!(c[look], '{' | '(') {
                    *pos = look;
                    let close = if c[look] == '{' { '}' } else { ')' };
                    *pos += 1;
                    D::Node(name, items(c, pos, close))
                } else {
                    D::Atom(name)
                }
            }
        }
    }

    fn field<'a>(d: &'a D, name: &str) -> Option<&'a D> {
        match d {
            D::Node(_, items) => items
                .iter()
                .find(|(k, _)| k.as_deref() == Some(name))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    fn pattern(map: &D) -> String {
        let def = field(map, "pattern").expect("ResourceMap.pattern");
        match field(def, "patterns") {
            Some(D::Node(kind, items)) if kind == "Single" => match &items[0].1 {
                D::Str(s) => s.clone(),
                other => panic!("unexpected pattern {other:?}"),
            },
            other => panic!("resources with several patterns are not expected: {other:?}"),
        }
    }

    /// The full paths of the leaves of a resource map.
    pub fn routes(map: &D, prefix: &str, out: &mut Vec<String>) {
        let Some(D::Node(kind, items)) = field(map, "nodes") else {
            panic!("ResourceMap.nodes missing");
        };
        if kind != "Some" {
            return;
        }
        let D::Node(_, children) = &items[0].1 else {
            panic!("nodes is not a list")
        };
        for (_, child) in children {
            let path = format!("{prefix}{}", pattern(child));
            match field(child, "nodes") {
                Some(D::Node(k, _)) if k == "Some" => routes(child, &path, out),
                _ => out.push(path),
            }
        }
    }
}

async fn every_route_is_documented_and_every_documented_route_is_served(app: TestApp) {
    let doc = document();
    let ops = operations(&doc);
    let mut documented: BTreeMap<String, usize> = BTreeMap::new();
    for op in &ops {
        *documented.entry(op.path.clone()).or_default() += 1;
    }
    let mut served: BTreeMap<String, usize> = BTreeMap::new();
    for path in served_routes(&app).await {
        *served.entry(path).or_default() += 1;
    }
    for (path, _why) in UNDOCUMENTED {
        assert!(
            served.remove(*path).is_some(),
            "{path} is listed as undocumented but not served"
        );
    }
    // One actix resource per handler, so the counts are the methods.
    assert_eq!(
        served, documented,
        "router (left) and OpenAPI document (right) disagree"
    );
    // And no method the document does not name is served on a documented path.
    let admin = app.district_admin().await;
    for path in documented.keys() {
        let concrete = path
            .split('/')
            .map(|s| if s.starts_with('{') { NOWHERE } else { s })
            .collect::<Vec<_>>()
            .join("/");
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            // A concrete path may also match another template (`/reports/followup`).
            let documented_here = ops
                .iter()
                .any(|o| o.method == method && matches_template(&o.path, &concrete));
            if documented_here {
                continue;
            }
            let r = call(
                &app,
                method,
                &concrete,
                Some(&admin.token),
                Some(&json!({})),
            )
            .await;
            // RFC 9110: a method the resource lacks is 405 with `Allow`,
            // which must name only documented methods.
            assert_eq!(
                (r.status, r.code().as_str()),
                (405, "method_not_allowed"),
                "{method} {concrete} is not documented but answered: {}",
                r.text
            );
            let allow = r.header("allow").unwrap_or_default().to_owned();
            for allowed in allow.split(',').map(str::trim) {
                assert!(
                    ops.iter()
                        .any(|o| o.method == allowed && matches_template(&o.path, &concrete)),
                    "{concrete}: Allow names {allowed}, which is not documented"
                );
            }
            assert!(!allow.is_empty(), "{method} {concrete}: 405 without Allow");
        }
    }
    // The served document is the committed one.
    let served_doc = call(&app, "GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(served_doc.expect(200), doc);
}

// --- API8: misconfiguration --------------------------------------------------------------

const LEAKS: &[&str] = &[
    "diesel",
    "sqlite",
    "postgres",
    "panicked",
    "backtrace",
    "src/",
    ".rs:",
    "r2d2",
    "actix",
    "serde_json",
    "thread '",
];

#[track_caller]
fn assert_safe_headers(r: &Resp, what: &str) {
    let ct = r.header("content-type").unwrap_or_default();
    assert!(
        ct.starts_with("application/json") || ct == "application/problem+json",
        "{what}: content type {ct:?}"
    );
    assert_eq!(
        r.header("x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(r.header("cache-control"), Some("no-store"), "{what}");
    assert_eq!(r.header("x-frame-options"), Some("DENY"), "{what}");
    if let Some(server) = r.header("server") {
        assert!(
            !server.chars().any(|c| c.is_ascii_digit()),
            "{what}: the Server header tells a version: {server}"
        );
    }
    assert!(r.header("x-powered-by").is_none(), "{what}");
    match r.header("access-control-allow-origin") {
        None => {}
        Some("*") => assert_ne!(
            r.header("access-control-allow-credentials"),
            Some("true"),
            "{what}: wildcard CORS with credentials"
        ),
        Some(origin) => assert_ne!(
            origin, "https://evil.example",
            "{what}: CORS reflects any origin"
        ),
    }
    if r.status >= 400 {
        let lower = r.text.to_lowercase();
        for leak in LEAKS {
            assert!(
                !lower.contains(leak),
                "{what}: error body names {leak}: {}",
                r.text
            );
        }
    }
}

async fn responses_carry_safe_headers_and_errors_tell_no_internals(app: TestApp) {
    let w = app.world().await;
    let t = Some(w.x.admin.token.as_str());
    let evil = [("Origin", "https://evil.example")];
    let cases: Vec<(&str, String, Option<&str>, Option<&str>)> = vec![
        ("GET", "/healthz".into(), None, None),
        ("GET", "/readyz".into(), None, None),
        ("GET", "/api/v1/openapi.json".into(), None, None),
        ("GET", "/api/v1/me".into(), t, None),
        ("GET", "/api/v1/me".into(), None, None),
        ("GET", "/api/v1/me".into(), Some("not.a.token"), None),
        ("GET", "/api/v1/no-such-route".into(), t, None),
        (
            "GET",
            format!("/api/v1/students/{}", w.y.student_id),
            t,
            None,
        ),
        ("GET", "/api/v1/students/'%20OR%201=1--".into(), t, None),
        ("GET", "/api/v1/students/%00%ff".into(), t, None),
        ("GET", "/api/v1/leave-requests?limit=abc".into(), t, None),
        (
            "GET",
            "/api/v1/leave-requests?limit=1&bogus=1".into(),
            t,
            None,
        ),
        (
            "POST",
            "/api/v1/students".into(),
            t,
            Some("{\"school_id\": "),
        ),
        ("POST", "/api/v1/students".into(), t, Some("[1,2,3]")),
        (
            "POST",
            "/api/v1/students".into(),
            t,
            Some("{\"name\": \"\\ud800\"}"),
        ),
        (
            "POST",
            "/api/v1/auth/login".into(),
            None,
            Some("{\"username\": 1}"),
        ),
        (
            "PUT",
            "/api/v1/me/notification-preferences".into(),
            t,
            Some("null"),
        ),
    ];
    for (method, path, token, body) in cases {
        let r = app.send_raw(method, &path, token, body, &evil).await;
        assert!(r.status < 500, "{method} {path}: {}", r.text);
        assert_safe_headers(&r, &format!("{method} {path}"));
    }
    // A CORS preflight grants nothing to a foreign origin.
    let pre = app
        .send_raw(
            "OPTIONS",
            "/api/v1/me",
            None,
            None,
            &[
                ("Origin", "https://evil.example"),
                ("Access-Control-Request-Method", "GET"),
                ("Access-Control-Request-Headers", "authorization"),
            ],
        )
        .await;
    assert!(pre.status < 500);
    assert!(
        pre.header("access-control-allow-origin").is_none(),
        "{:?}",
        pre.headers
    );
    assert!(pre.header("access-control-allow-credentials").is_none());
    // A body that is not JSON is refused as such, not parsed.
    let r = app
        .send_raw(
            "POST",
            "/api/v1/auth/login",
            None,
            Some("username=a&password=b"),
            &[("Content-Type", "application/x-www-form-urlencoded")],
        )
        .await;
    r.expect_problem(415, "unsupported_media_type");
}

// --- API2: broken authentication --------------------------------------------------------

fn b64(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data)
}

fn jwt_parts(token: &str) -> (Value, Value) {
    use base64::Engine;
    let d = |s: &str| {
        serde_json::from_slice::<Value>(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(s)
                .unwrap(),
        )
        .unwrap()
    };
    let mut it = token.split('.');
    (d(it.next().unwrap()), d(it.next().unwrap()))
}

fn sign(header: &Value, claims: &Value, secret: &[u8]) -> String {
    let alg = match header["alg"].as_str().unwrap() {
        "HS512" => jsonwebtoken::Algorithm::HS512,
        "HS384" => jsonwebtoken::Algorithm::HS384,
        _ => jsonwebtoken::Algorithm::HS256,
    };
    let mut h = jsonwebtoken::Header::new(alg);
    h.kid = header["kid"].as_str().map(String::from);
    jsonwebtoken::encode(&h, claims, &jsonwebtoken::EncodingKey::from_secret(secret)).unwrap()
}

async fn tampered_expired_and_foreign_tokens_are_refused(app: TestApp) {
    let w = app.world().await;
    let me = |t: String| {
        let app = &app;
        async move { app.get("/api/v1/me", &t).await }
    };
    let good = w.x.parent.token.clone();
    me(good.clone()).await.expect(200);
    let (header, claims) = jwt_parts(&good);
    let parts: Vec<&str> = good.split('.').collect();
    let mut forged = Vec::new();
    // The signature changed.
    let mut sig = parts[2].to_string();
    let last = if sig.ends_with('A') { "B" } else { "A" };
    sig.replace_range(sig.len() - 1.., last);
    forged.push(("bad signature", format!("{}.{}.{sig}", parts[0], parts[1])));
    forged.push(("no signature", format!("{}.{}.", parts[0], parts[1])));
    // alg=none, with and without the kid.
    for h in [
        json!({"alg": "none", "typ": "JWT"}),
        json!({"alg": "none", "typ": "JWT", "kid": header["kid"]}),
    ] {
        forged.push((
            "alg none",
            format!("{}.{}.", b64(h.to_string().as_bytes()), parts[1]),
        ));
    }
    // Claims changed under the old signature: another user, a role.
    for (what, change) in [
        ("sub", json!({"sub": w.district_admin.user_id})),
        ("role", json!({"role": "district_admin"})),
        (
            "exp",
            json!({"exp": claims["exp"].as_i64().unwrap() + 86400}),
        ),
    ] {
        let mut c = claims.clone();
        for (k, v) in change.as_object().unwrap() {
            c[k] = v.clone();
        }
        forged.push((
            what,
            format!(
                "{}.{}.{}",
                parts[0],
                b64(c.to_string().as_bytes()),
                parts[2]
            ),
        ));
    }
    // Signed with the real secret but wrong in some other way.
    let secret = JWT_SECRET.as_bytes();
    let with = |k: &str, v: Value| {
        let mut c = claims.clone();
        c[k] = v;
        c
    };
    forged.push((
        "wrong aud",
        sign(&header, &with("aud", json!("other-api")), secret),
    ));
    forged.push((
        "wrong iss",
        sign(&header, &with("iss", json!("evil")), secret),
    ));
    forged.push((
        "not yet valid",
        sign(
            &header,
            &with("nbf", json!(claims["nbf"].as_i64().unwrap() + 3600)),
            secret,
        ),
    ));
    let mut no_exp = claims.clone();
    no_exp.as_object_mut().unwrap().remove("exp");
    forged.push(("no exp", sign(&header, &no_exp, secret)));
    let mut unknown_kid = header.clone();
    unknown_kid["kid"] = json!("0000000000000000");
    forged.push(("unknown kid", sign(&unknown_kid, &claims, secret)));
    let mut no_kid = header.clone();
    no_kid.as_object_mut().unwrap().remove("kid");
    forged.push(("no kid", sign(&no_kid, &claims, secret)));
    let mut hs512 = header.clone();
    hs512["alg"] = json!("HS512");
    forged.push(("HS512", sign(&hs512, &claims, secret)));
    // Signed with another secret under the right kid.
    forged.push((
        "other secret",
        sign(&header, &claims, b"another-secret-another-secret-000"),
    ));
    // A session id that is not this user's.
    forged.push((
        "other session",
        sign(&header, &with("sid", json!(NOWHERE)), secret),
    ));
    for (what, token) in forged {
        let r = me(token).await;
        assert_eq!(
            (r.status, r.code()),
            (401, "unauthorized".into()),
            "{what}: {}",
            r.text
        );
    }
    // Refresh tokens are not access tokens and vice versa.
    me(w.x.parent.refresh.clone())
        .await
        .expect_problem(401, "unauthorized");
    let r = app
        .post_anon("/api/v1/auth/refresh", json!({"refresh_token": good}))
        .await;
    assert!(matches!(r.status, 401 | 422), "{}", r.text);
    // Expiry by the service clock.
    app.clock
        .advance(chrono::Duration::seconds(app.state.jwt.ttl_secs() + 31));
    me(good).await.expect_problem(401, "unauthorized");
}

async fn a_reused_refresh_token_revokes_its_family_and_logout_takes_effect(app: TestApp) {
    let w = app.world().await;
    let s = w.x.parent.clone();
    let first = app
        .post_anon("/api/v1/auth/refresh", json!({"refresh_token": s.refresh}))
        .await
        .expect(200);
    let rotated = first["refresh_token"].as_str().unwrap().to_string();
    let access = first["access_token"].as_str().unwrap().to_string();
    app.get("/api/v1/me", &access).await.expect(200);
    // The old one again: someone stole it. The whole family ends.
    app.post_anon("/api/v1/auth/refresh", json!({"refresh_token": s.refresh}))
        .await
        .expect_problem(401, "invalid_refresh_token");
    app.post_anon("/api/v1/auth/refresh", json!({"refresh_token": rotated}))
        .await
        .expect_problem(401, "invalid_refresh_token");
    app.get("/api/v1/me", &access)
        .await
        .expect_problem(401, "unauthorized");
    app.get("/api/v1/me", &s.token)
        .await
        .expect_problem(401, "unauthorized");
    // Logout ends the session's access tokens at once, not at expiry.
    let t = w.x.teacher.clone();
    app.get("/api/v1/me", &t.token).await.expect(200);
    let r = app
        .post_anon("/api/v1/auth/logout", json!({"refresh_token": t.refresh}))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    app.get("/api/v1/me", &t.token)
        .await
        .expect_problem(401, "unauthorized");
    app.post_anon("/api/v1/auth/refresh", json!({"refresh_token": t.refresh}))
        .await
        .expect_problem(401, "invalid_refresh_token");
    // Logout everywhere ends every session of the user, and only theirs.
    let g1 = w.x.guard.clone();
    let g2 = app.login(&g1.username, PASSWORD).await;
    let r = app
        .send(
            "POST",
            "/api/v1/auth/logout-all",
            Some(&g1.token),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    for s in [&g1, &g2] {
        app.get("/api/v1/me", &s.token)
            .await
            .expect_problem(401, "unauthorized");
    }
    app.get("/api/v1/me", &w.x.admin.token).await.expect(200);
    // A disabled account's tokens stop working.
    let y_teacher = w.y.teacher.clone();
    app.send(
        "POST",
        &format!("/api/v1/users/{}/disable", y_teacher.user_id),
        Some(&w.y.admin.token),
        None,
        &[],
    )
    .await;
    app.get("/api/v1/me", &y_teacher.token)
        .await
        .expect_problem(401, "unauthorized");
}

// --- API1: broken object-level authorisation ------------------------------------------

/// Each attacker asks for each victim object on every route that names an
/// object. The answer must be exactly what a made-up id gets (so nothing
/// about the object leaks), and never a success.
async fn probe(
    app: &TestApp,
    doc: &Value,
    attackers: &[(&str, &Session)],
    victims: &HashMap<&'static str, String>,
    must_cover: bool,
) -> BTreeMap<String, usize> {
    let nowhere = nowhere_ids();
    let mut not_found: BTreeMap<String, usize> = BTreeMap::new();
    let mut uncovered = Vec::new();
    for op in operations(doc) {
        if params(&op.path).is_empty() || PUBLIC_OBJECTS.iter().any(|(p, _)| *p == op.path) {
            continue;
        }
        let Some(url) = fill(&op.path, victims) else {
            uncovered.push(format!("{} {}", op.method, op.path));
            continue;
        };
        let fake = fill(&op.path, &nowhere).unwrap();
        let body = body_for(doc, &op, victims);
        let entry = not_found
            .entry(format!("{} {}", op.method, op.path))
            .or_default();
        for (who, s) in attackers {
            let real = call(app, &op.method, &url, Some(&s.token), body.as_ref()).await;
            let made_up = call(app, &op.method, &fake, Some(&s.token), body.as_ref()).await;
            assert!(
                !(200..300).contains(&real.status),
                "{who}: {} {url} succeeded on someone else's object: {}",
                op.method,
                real.text
            );
            assert_eq!(
                (real.status, real.code()),
                (made_up.status, made_up.code()),
                "{who}: {} {} tells another's object from a made-up one: {} vs {}",
                op.method,
                op.path,
                real.text,
                made_up.text
            );
            if real.status == 404 {
                *entry += 1;
            }
        }
    }
    if must_cover {
        assert!(uncovered.is_empty(), "no victim object for {uncovered:?}");
    }
    not_found
}

/// Routes that no role of another school may call at all, so the walk
/// meets the role check (403) before the object: each with why.
const NO_404_EXPECTED: &[(&str, &str)] = &[
    (
        "POST /api/v1/personnel/{id}/checks",
        "only bureau officers record checks, and they see the whole district",
    ),
    (
        "POST /api/v1/personnel/{id}/suspension-lift",
        "only bureau officers lift a suspension, and they see the whole district",
    ),
    (
        "POST /api/v1/cases/{id}/bureau-acknowledgement",
        "only bureau officers acknowledge cases, and they see the whole district",
    ),
    (
        "POST /api/v1/cases/{id}/close-confirmation",
        "only bureau officers confirm a closure, and they see the whole district",
    ),
    (
        "POST /api/v1/reports/{id}/close-confirmation",
        "only bureau officers close a report, and they see the whole district",
    ),
    (
        "POST /api/v1/reports/{id}/classification",
        "only bureau officers classify a report late, and they see the whole district",
    ),
    (
        "GET /api/v1/reports/{id}/history",
        "only bureau officers read a report's history, and they see the whole district",
    ),
    (
        "POST /api/v1/recipient-changes/{id}/approve",
        "only bureau officers approve recipient changes, which are the district's",
    ),
];

async fn another_schools_objects_are_not_found_on_every_route(app: TestApp) {
    let doc = document();
    let sc = scene(&app).await;
    let w = &sc.w;
    let y = objects_of(&app, &w.y, &w.y.student_id, &w.y.parent, &w.y.admin).await;
    let attackers: Vec<(&str, &Session)> = sc
        .roles
        .iter()
        .filter(|(r, _)| !matches!(**r, "district_admin" | "bureau_officer"))
        .map(|(r, s)| (*r, s))
        .collect();
    let hits = probe(&app, &doc, &attackers, &y, true).await;
    let blind: Vec<&String> = hits
        .iter()
        .filter(|(op, n)| **n == 0 && !NO_404_EXPECTED.iter().any(|(o, _)| o == op))
        .map(|(op, _)| op)
        .collect();
    assert!(
        blind.is_empty(),
        "no role of school X even reached the object check on {blind:?}"
    );
    // Lists and feeds never carry school Y's objects (schools are listed
    // district-wide by design).
    let mut secret_ids = y.clone();
    secret_ids.remove("school");
    secret_ids.remove("school_code");
    for op in operations(&doc) {
        if op.method != "GET" || !params(&op.path).is_empty() || op.id == "stream" {
            continue;
        }
        for (who, s) in &attackers {
            let r = app.get(&op.path, &s.token).await;
            if let Some(leak) = any_id_in(&r.text, &secret_ids) {
                panic!("{who}: GET {} shows school Y's {leak}", op.path);
            }
        }
    }
    // Filters naming school Y's objects find nothing either.
    for (who, s) in &attackers {
        for q in [
            format!("/api/v1/leave-requests?student_id={}", y["student"]),
            format!("/api/v1/leave-requests?class_id={}", y["class"]),
        ] {
            let r = app.get(&q, &s.token).await;
            assert!(
                r.status != 200 || r.json()["items"] == json!([]),
                "{who}: {q}: {}",
                r.text
            );
        }
    }
    // The district sees both schools: the objects are real.
    app.get(
        &format!("/api/v1/leave-requests/{}", y["leave"]),
        &w.district_admin.token,
    )
    .await
    .expect(200);
}

async fn another_familys_objects_are_not_found_on_every_route(app: TestApp) {
    let doc = document();
    let sc = scene(&app).await;
    let w = &sc.w;
    let b_parent = app
        .create_user(&w.x.admin, "parent", "sch-x.parent-b", None)
        .await;
    let b_pupil = app
        .create_student(&w.x.admin, &w.x.id, &w.x.class_id, "pupil-b", 1)
        .await;
    app.add_guardian(&w.x.admin, &b_pupil, &b_parent, "father")
        .await;
    let b = app.login("sch-x.parent-b", PASSWORD).await;
    let mut victims = objects_of(&app, &w.x, &b_pupil, &b, &w.x.admin).await;
    // Shared by both families: not a family's object.
    for shared in [
        "school",
        "school_code",
        "class",
        "notice",
        "report",
        "outbox",
    ] {
        victims.remove(shared);
    }
    let attackers: Vec<(&str, &Session)> = vec![
        ("parent of another family", &w.x.parent),
        ("a student", &sc.roles["student"]),
    ];
    probe(&app, &doc, &attackers, &victims, false).await;
    for op in operations(&doc) {
        if op.method != "GET" || !params(&op.path).is_empty() || op.id == "stream" {
            continue;
        }
        for (who, s) in &attackers {
            let r = app.get(&op.path, &s.token).await;
            if let Some(leak) = any_id_in(&r.text, &victims) {
                panic!("{who}: GET {} shows family B's {leak}", op.path);
            }
            assert!(
                !r.text.contains("pupil-b"),
                "{who}: GET {}: {}",
                op.path,
                r.text
            );
        }
    }
    // Family B sees its own.
    app.get(
        &format!("/api/v1/leave-requests/{}", victims["leave"]),
        &b.token,
    )
    .await
    .expect(200);
}

// --- API5: function-level authorisation --------------------------------------------------

/// Operations every signed-in user may call: what they reach is scoped to
/// them (their own account, feed, children or school), with why.
const ANY_SIGNED_IN: &[(&str, &str)] = &[
    ("logout_all", "own sessions"),
    ("change_password", "own account"),
    ("feed", "own feed"),
    ("stream", "own feed"),
    ("mark_read", "own notification"),
    ("ack", "own notification"),
    ("get_preferences", "own preferences"),
    ("put_preferences", "own preferences"),
    ("me", "own account"),
    (
        "list_schools",
        "the district's schools are public within it",
    ),
    ("get_school", "ditto, scoped to the district"),
    (
        "get_user",
        "scoped: self, own school's staff, own children's guardians",
    ),
    (
        "patch_user",
        "scoped: one's own account; admins those they oversee",
    ),
    (
        "add_pickup_person",
        "a guardian for their child; staff of the school",
    ),
    ("list_pickup_persons", "scoped by school or family"),
    ("revoke_pickup_person", "scoped by school or family"),
    ("pickup_person_photo", "scoped by school or family"),
    (
        "list_pickup_blocks",
        "scoped by school; guardians see their child's",
    ),
    ("issue_pickup_pass", "a guardian for their child"),
    ("list_pickup_passes", "scoped by school or family"),
    ("cancel_pickup_pass", "scoped by school or family"),
    ("confirm_handover", "the guardians of the pupil handed over"),
    ("dispute_handover", "the guardians of the pupil handed over"),
    (
        "set_dismissal_mode",
        "a guardian for their child; the school",
    ),
    ("student_handovers", "scoped by school or family"),
    ("explain", "a guardian explains their child's absence"),
    (
        "data_request_export",
        "whoever asked for the copy, and the school's admin",
    ),
    (
        "create_leave",
        "the student, a guardian or the head teacher",
    ),
    ("list_leaves", "scoped by school or family"),
    ("get_leave", "scoped by school or family"),
    ("guardian_decision", "a guardian of the student"),
    ("withdraw", "whoever asked"),
    ("issue_pass", "the student, a guardian or the head teacher"),
];

/// Operations without an account, with why.
const ANONYMOUS: &[(&str, &str)] = &[
    ("healthz", "liveness probe"),
    ("readyz", "readiness probe"),
    ("login", "signs in"),
    ("refresh", "the refresh token is the credential"),
    ("logout", "the refresh token is the credential"),
    ("activate", "the one-time activation code is the credential"),
    ("get_mailbox", "public keys for reporters"),
    ("challenge", "anonymous tip line, proof of work"),
    ("submit_report", "anonymous tip line"),
    ("followup", "the receipt is the credential"),
    ("reporter_message", "the receipt is the credential"),
    (
        "reporter_attachment",
        "the receipt or lookup, in a header, is the credential",
    ),
];

async fn every_restricted_route_refuses_every_lower_role(app: TestApp) {
    let doc = document();
    let sc = scene(&app).await;
    let w = &sc.w;
    let x = objects_of(&app, &w.x, &w.x.student_id, &w.x.parent, &w.x.admin).await;
    let schools = app.count("schools").await;
    let matrix = role_matrix();
    let open: BTreeMap<&str, &str> = ANY_SIGNED_IN.iter().cloned().collect();
    let anon: BTreeMap<&str, &str> = ANONYMOUS.iter().cloned().collect();
    let mut wrong = Vec::new();
    for op in operations(&doc) {
        let kinds = [
            matrix.contains_key(op.id.as_str()),
            open.contains_key(op.id.as_str()),
            anon.contains_key(op.id.as_str()),
        ];
        assert_eq!(
            kinds.iter().filter(|k| **k).count(),
            1,
            "{} {} ({}) must be classified exactly once in the role matrix",
            op.method,
            op.path,
            op.id
        );
        let secured = op.op["security"].is_array();
        assert_eq!(
            secured,
            !anon.contains_key(op.id.as_str()),
            "{}: security in the document",
            op.id
        );
        let url = fill(&op.path, &x).unwrap_or_else(|| fill(&op.path, &nowhere_ids()).unwrap());
        let url = with_query(&doc, &op.op, url);
        let body = body_for(&doc, &op, &x);
        if secured {
            let r = call(&app, &op.method, &url, None, body.as_ref()).await;
            assert_eq!(
                (r.status, r.code()),
                (401, "unauthorized".into()),
                "anonymous {} {url}: {}",
                op.method,
                r.text
            );
        }
        let Some(allowed) = matrix.get(op.id.as_str()) else {
            continue;
        };
        for (role, s) in &sc.roles {
            if allowed.contains(role) {
                continue;
            }
            let r = call(&app, &op.method, &url, Some(&s.token), body.as_ref()).await;
            if r.status != 403 && r.status != 404 {
                wrong.push(format!(
                    "{role}: {} {url} ({}) answered {}: {}",
                    op.method, op.id, r.status, r.text
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // A school's pickup settings are for its staff: the role decides, in the
    // extractor, before any school is looked at.
    for role in ["parent", "student"] {
        app.get(
            &format!("/api/v1/schools/{}/pickup-settings", w.x.id),
            &sc.roles[role].token,
        )
        .await
        .expect_problem(403, "forbidden_role");
    }
    // Nothing changed hands: no school, user or notice was made by a refused role.
    assert_eq!(app.count("schools").await, schools);
}

// --- API3: object property level ----------------------------------------------------------

async fn no_body_takes_fields_it_does_not_declare(app: TestApp) {
    let doc = document();
    let sc = scene(&app).await;
    let w = &sc.w;
    let x = objects_of(&app, &w.x, &w.x.student_id, &w.x.parent, &w.x.admin).await;
    let matrix = role_matrix();
    let users_before = app.count("users").await;
    for op in operations(&doc) {
        let Some(schema) = request_schema(&doc, &op.op) else {
            continue;
        };
        let body = body_for(&doc, &op, &x).unwrap();
        let Some(fields) = body.as_object() else {
            continue;
        };
        let declared: BTreeSet<&str> = schema["properties"]
            .as_object()
            .map(|p| p.keys().map(String::as_str).collect())
            .unwrap_or_default();
        // Undeclared fields first: serde meets them before any value it
        // might refuse for other reasons.
        let mut raw: Vec<String> = [
            ("role", json!("district_admin")),
            ("school_id", json!(w.y.id)),
            ("district_id", json!(NOWHERE)),
            ("is_admin", json!(true)),
            (
                "webhook_url",
                json!("http://169.254.169.254/latest/meta-data"),
            ),
        ]
        .into_iter()
        .filter(|(k, _)| !declared.contains(k))
        .map(|(k, v)| format!("{}:{v}", json!(k)))
        .collect();
        raw.extend(fields.iter().map(|(k, v)| format!("{}:{v}", json!(k))));
        let raw = format!("{{{}}}", raw.join(","));
        let token = match matrix.get(op.id.as_str()) {
            Some(roles) => Some(sc.roles[roles[0]].token.clone()),
            None if op.op["security"].is_array() => Some(w.x.parent.token.clone()),
            None => None,
        };
        let url = with_query(&doc, &op.op, fill(&op.path, &x).unwrap());
        // A route that names its report in a header (404 before the body
        // for a wrong one) reads its body only for a real one.
        let names_report = op.op["parameters"]
            .as_array()
            .is_some_and(|ps| ps.iter().any(|p| p["name"] == "X-Tipline-Receipt"));
        let headers: Vec<(&str, &str)> = if names_report {
            vec![("X-Tipline-Receipt", sc.receipts[0].as_str())]
        } else {
            Vec::new()
        };
        let r = app
            .send_raw(&op.method, &url, token.as_deref(), Some(&raw), &headers)
            .await;
        assert!(
            (400..500).contains(&r.status) && r.code() == "unknown_field",
            "{} {} took undeclared fields: {} {}",
            op.method,
            op.path,
            r.status,
            r.text
        );
    }
    assert_eq!(app.count("users").await, users_before);
    // Nobody makes themself more than they are.
    let x_admin = &w.x.admin;
    for (role, school) in [
        ("district_admin", None),
        ("bureau_officer", None),
        ("teacher", Some(w.y.id.as_str())),
        ("school_admin", Some(w.y.id.as_str())),
    ] {
        let mut body = json!({"role": role, "username": format!("esc.{role}"), "display_name": "e", "password": PASSWORD});
        if let Some(s) = school {
            body["school_id"] = json!(s);
        }
        let r = app.post("/api/v1/users", &x_admin.token, body).await;
        assert!(
            (400..500).contains(&r.status),
            "school admin made a {role}: {}",
            r.text
        );
    }
    assert_eq!(app.count("users").await, users_before);
    let me = app.get("/api/v1/me", &w.x.parent.token).await.expect(200);
    assert_eq!(me["role"], "parent");
}

/// Values that must never appear in a response: secrets, and anything
/// derived from the pepper, passwords or tokens.
async fn secrets(app: &TestApp, receipts: &[String]) -> Vec<String> {
    let mut out: Vec<String> = vec![
        JWT_SECRET.into(),
        RECEIPT_PEPPER.into(),
        PASSWORD.into(),
        ADMIN_PASSWORD.into(),
        "$argon2".into(),
    ];
    out.extend(receipts.iter().cloned());
    for sql in [
        "SELECT password_hash AS s FROM users",
        "SELECT token_hash AS s FROM refresh_tokens",
        "SELECT receipt_mac AS s FROM tip_reports",
        "SELECT code_hash AS s FROM pickup_passes",
        "SELECT qr_token_hash AS s FROM pickup_passes",
    ] {
        out.extend(app.strings(sql.into()).await);
    }
    out.retain(|s| s.len() >= 8);
    out
}

const FORBIDDEN_KEYS: &[&str] = &[
    "password",
    "password_hash",
    "token_hash",
    "receipt_mac",
    "code_hash",
    "qr_token_hash",
    "request_hash",
    "pepper",
    "secret",
    "private_key",
];

fn keys_of(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                out.insert(k.clone());
                keys_of(v, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|v| keys_of(v, out)),
        _ => {}
    }
}

async fn no_response_carries_secrets_hashes_or_forbidden_fields(app: TestApp) {
    let doc = document();
    let sc = scene(&app).await;
    let w = &sc.w;
    let x = objects_of(&app, &w.x, &w.x.student_id, &w.x.parent, &w.x.admin).await;
    let known = secrets(&app, &sc.receipts).await;
    let mut seen = 0;
    for op in operations(&doc) {
        if op.method != "GET" || op.id == "stream" {
            continue;
        }
        let Some(url) = fill(&op.path, &x).map(|u| with_query(&doc, &op.op, u)) else {
            continue;
        };
        for (role, s) in &sc.roles {
            let r = app.get(&url, &s.token).await;
            seen += 1;
            for secret in &known {
                assert!(
                    !r.text.contains(secret.as_str()),
                    "{role}: GET {url} carries a secret"
                );
            }
            let mut keys = BTreeSet::new();
            keys_of(&r.json(), &mut keys);
            for k in FORBIDDEN_KEYS {
                assert!(!keys.contains(*k), "{role}: GET {url} has a {k} field");
            }
        }
    }
    assert!(seen > 100);
    // Sign-in and refresh answers too.
    let login = app
        .post_anon(
            "/api/v1/auth/login",
            json!({"username": "sch-x.parent", "password": PASSWORD}),
        )
        .await
        .expect(200);
    let text = login.to_string();
    for secret in &known {
        assert!(!text.contains(secret.as_str()));
    }
    // The pass code is shown once, to the guardian who asked; not in lists.
    let passes = app
        .get(
            &format!("/api/v1/students/{}/pickup-passes", w.x.student_id),
            &w.x.parent.token,
        )
        .await
        .expect(200);
    let mut keys = BTreeSet::new();
    keys_of(&passes, &mut keys);
    assert!(
        !keys.contains("code") && !keys.contains("qr_token"),
        "{passes}"
    );
    // Receipts appear nowhere staff can read.
    for (role, s) in &sc.roles {
        let r = app.get("/api/v1/reports", &s.token).await;
        for receipt in &sc.receipts {
            assert!(!r.text.contains(receipt.as_str()), "{role}");
        }
    }
}

// --- API4: unrestricted resource consumption ----------------------------------------------

async fn bodies_lists_attachments_and_anonymous_reports_are_bounded(app: TestApp) {
    let doc = document();
    let sc = scene(&app).await;
    let w = &sc.w;
    let matrix = role_matrix();
    // Bodies over the limit: refused before parsing, as problem+json.
    let big = format!("{{\"name\": \"{}\"}}", "x".repeat(70 * 1024));
    let r = app
        .send_raw(
            "POST",
            "/api/v1/students",
            Some(&w.x.admin.token),
            Some(&big),
            &[],
        )
        .await;
    r.expect_problem(413, "body_too_large");
    let r = app
        .send_raw("POST", "/api/v1/auth/login", None, Some(&big), &[])
        .await;
    r.expect_problem(413, "body_too_large");
    // Attachments: at most 15 MiB a request, read only for a report named
    // in a header: no header, or a wrong one, is refused unread.
    let huge = format!("{{\"envelope\": \"{}\"}}", "A".repeat(16 * 1024 * 1024));
    let attach = |headers: &'static [(&'static str, &'static str)]| {
        app.send_raw(
            "POST",
            "/api/v1/reports/followup/attachments",
            None,
            Some(&huge),
            headers,
        )
    };
    attach(&[]).await.expect_problem(422, "invalid_field");
    attach(&[("X-Tipline-Receipt", "AAAAA-BBBBB-CCCCC-DDDDD")])
        .await
        .expect_problem(404, "not_found");
    let receipt = sc.receipts[0].clone();
    let r = app
        .send_raw(
            "POST",
            "/api/v1/reports/followup/attachments",
            None,
            Some(&huge),
            &[("X-Tipline-Receipt", &receipt)],
        )
        .await;
    r.expect_problem(413, "body_too_large");
    // Every list caps its page.
    for op in operations(&doc) {
        let has_limit = op.op["parameters"]
            .as_array()
            .is_some_and(|ps| ps.iter().any(|p| p["name"] == "limit"));
        if op.method != "GET" || !has_limit || !params(&op.path).is_empty() {
            continue;
        }
        let role = matrix
            .get(op.id.as_str())
            .map(|r| r[0])
            .unwrap_or("school_admin");
        let token = &sc.roles[role].token;
        for bad in ["101", "0", "100000", "-1"] {
            let r = app.get(&format!("{}?limit={bad}", op.path), token).await;
            assert!(
                r.status == 422 || r.status == 400,
                "{} with limit={bad}: {} {}",
                op.path,
                r.status,
                r.text
            );
        }
        let r = app.get(&format!("{}?limit=100", op.path), token).await;
        assert!(
            r.status != 422 && r.status != 400,
            "{}: {}",
            op.path,
            r.text
        );
        let cursor = format!("{}?cursor={}", op.path, "f".repeat(500));
        let r = app.get(&cursor, token).await;
        assert!(r.status == 422 || r.status == 400, "{cursor}: {}", r.text);
    }
    // Anonymous reports need a fresh proof of work.
    let before = app.count("tip_reports").await;
    let mb = app
        .send("GET", "/api/v1/mailboxes/SCH-X", None, None, &[])
        .await
        .expect(200);
    let base = json!({"school_code": "SCH-X", "category": "sexual_abuse", "urgency": "normal",
                      "envelope": seal_text(&mb["recipient_keys"], "hello")});
    let mut no_pow = base.clone();
    no_pow.as_object_mut().unwrap();
    let r = app.post_anon("/api/v1/reports", no_pow).await;
    assert!((400..500).contains(&r.status), "{}", r.text);
    let c = app
        .post_anon("/api/v1/reports/challenge", json!({}))
        .await
        .expect(201);
    let challenge = c["challenge"].as_str().unwrap().to_string();
    let difficulty = c["difficulty"].as_u64().unwrap() as u32;
    let wrong = (0u64..)
        .map(|n| n.to_string())
        .find(|n| !pow::meets(&challenge, n, difficulty))
        .unwrap();
    let mut bad = base.clone();
    bad["pow"] = json!({"challenge": challenge, "nonce": wrong});
    let r = app.post_anon("/api/v1/reports", bad).await;
    assert!((400..500).contains(&r.status), "{}", r.text);
    let mut made_up = base.clone();
    made_up["pow"] = json!({"challenge": "made-up", "nonce": "1"});
    let r = app.post_anon("/api/v1/reports", made_up).await;
    assert!((400..500).contains(&r.status), "{}", r.text);
    let solved = solve_pow(&app).await;
    let mut ok = base.clone();
    ok["pow"] = solved.clone();
    app.post_anon("/api/v1/reports", ok.clone())
        .await
        .expect(201);
    // The same solution twice: refused.
    let r = app.post_anon("/api/v1/reports", ok).await;
    assert!((400..500).contains(&r.status), "{}", r.text);
    assert_eq!(app.count("tip_reports").await, before + 1);
    // Wrong receipts are counted and cut off.
    let mut limited = false;
    for i in 0..20 {
        let r = app
            .post_anon(
                "/api/v1/reports/followup",
                json!({"receipt": format!("AAAA-BBBB-CCCC-DDDD-EEEE-{i:04}")}),
            )
            .await;
        assert!((400..500).contains(&r.status), "{}", r.text);
        if r.status == 429 {
            limited = true;
            assert!(r.header("retry-after").is_some());
            break;
        }
    }
    assert!(limited, "guessing receipts is not rate limited");
    // Logins are counted per account.
    let mut locked = false;
    for _ in 0..20 {
        let r = app
            .post_anon(
                "/api/v1/auth/login",
                json!({"username": "sch-x.guard", "password": "wrong-password-1"}),
            )
            .await;
        if r.status == 429 {
            locked = true;
            break;
        }
        assert_eq!(r.status, 401, "{}", r.text);
    }
    assert!(locked, "password guessing is not limited");
}

// --- API6: sensitive business flows: mass fan-out ---------------------------------------

async fn senders_reach_only_the_audience_their_role_allows(app: TestApp) {
    let w = app.world().await;
    let bureau_id = app
        .create_user(&w.district_admin, "bureau_officer", "bureau.zhao", None)
        .await;
    let notice = |audience: Value| {
        json!({"audience": audience, "to": "both", "category": "general",
               "title": "Everyone", "body": "Hello all"})
    };
    let notes = || app.count("notifications");
    let before = notes().await;
    let y_notes = || {
        app.query_i64(format!(
            "SELECT COUNT(*) AS n FROM notifications WHERE user_id = '{}'",
            w.y.parent.user_id
        ))
    };
    let y_before = y_notes().await;
    let refused: Vec<(&str, &Session, Value)> = vec![
        (
            "teacher to the whole school",
            &w.x.teacher,
            json!({"school_ids": [w.x.id]}),
        ),
        (
            "teacher to another school",
            &w.x.teacher,
            json!({"school_ids": [w.y.id]}),
        ),
        (
            "teacher to both schools",
            &w.x.teacher,
            json!({"school_ids": [w.x.id, w.y.id]}),
        ),
        ("teacher to a grade", &w.x.teacher, json!({"grades": [1]})),
        (
            "teacher to another school's class",
            &w.x.teacher,
            json!({"class_ids": [w.y.class_id]}),
        ),
        (
            "teacher to another school's pupil",
            &w.x.teacher,
            json!({"student_ids": [w.y.student_id]}),
        ),
        (
            "teacher to everyone at once",
            &w.x.teacher,
            json!({"class_ids": [w.x.class_id], "school_ids": [w.y.id]}),
        ),
        (
            "school admin to another school",
            &w.x.admin,
            json!({"school_ids": [w.y.id]}),
        ),
        (
            "school admin to the district",
            &w.x.admin,
            json!({"school_ids": [w.x.id, w.y.id]}),
        ),
        (
            "school admin to another school's class",
            &w.x.admin,
            json!({"class_ids": [w.y.class_id]}),
        ),
        (
            "school admin to another school's pupil",
            &w.x.admin,
            json!({"student_ids": [w.y.student_id]}),
        ),
        ("nobody named", &w.x.admin, json!({})),
        ("guard", &w.x.guard, json!({"class_ids": [w.x.class_id]})),
        ("parent", &w.x.parent, json!({"class_ids": [w.x.class_id]})),
        (
            "district admin",
            &w.district_admin,
            json!({"school_ids": [w.x.id]}),
        ),
    ];
    for (what, s, audience) in refused {
        let r = app
            .post("/api/v1/notices", &s.token, notice(audience))
            .await;
        assert!(
            matches!(r.status, 403 | 404 | 422),
            "{what}: {} {}",
            r.status,
            r.text
        );
    }
    assert_eq!(notes().await, before, "a refused notice reached someone");
    // Too many targets in one request are refused, not fanned out.
    let many: Vec<String> = (0..5000)
        .map(|i| format!("0190f000-0000-7000-8000-{i:012}"))
        .collect();
    let r = app
        .post(
            "/api/v1/notices",
            &w.x.admin.token,
            notice(json!({"student_ids": many})),
        )
        .await;
    assert!(matches!(r.status, 404 | 413 | 422), "{}", r.text);
    // What each role may do still works.
    app.post(
        "/api/v1/notices",
        &w.x.teacher.token,
        notice(json!({"class_ids": [w.x.class_id]})),
    )
    .await
    .expect(201);
    app.post(
        "/api/v1/notices",
        &w.x.admin.token,
        notice(json!({"school_ids": [w.x.id]})),
    )
    .await
    .expect(201);
    assert_eq!(
        y_notes().await,
        y_before,
        "school X's notices reached school Y"
    );
    let bureau = app.login("bureau.zhao", PASSWORD).await;
    assert_eq!(bureau.user_id, bureau_id);
    app.post(
        "/api/v1/notices",
        &bureau.token,
        notice(json!({"school_ids": [w.x.id, w.y.id]})),
    )
    .await
    .expect(201);
}

// --- API7: SSRF ---------------------------------------------------------------------------

fn request_schemas(doc: &Value) -> Vec<(String, Value)> {
    operations(doc)
        .into_iter()
        .filter_map(|op| {
            request_schema(doc, &op.op).map(|s| (format!("{} {}", op.method, op.path), s.clone()))
        })
        .collect()
}

fn url_fields(
    doc: &Value,
    schema: &Value,
    at: &str,
    seen: &mut BTreeSet<String>,
    out: &mut Vec<String>,
) {
    if let Some(r) = schema["$ref"].as_str() {
        if !seen.insert(r.to_string()) {
            return;
        }
    }
    let schema = resolve(doc, schema);
    if matches!(
        schema["format"].as_str(),
        Some("uri" | "url" | "uri-reference" | "hostname" | "ipv4" | "ipv6")
    ) {
        out.push(at.to_string());
    }
    if let Some(props) = schema["properties"].as_object() {
        for (name, p) in props {
            let lower = name.to_lowercase();
            if [
                "url", "uri", "href", "webhook", "callback", "endpoint", "host", "link", "redirect",
            ]
            .iter()
            .any(|w| lower.contains(w))
                && !NOT_ADDRESSES.iter().any(|(n, _)| *n == name)
            {
                out.push(format!("{at}.{name}"));
            }
            url_fields(doc, p, &format!("{at}.{name}"), seen, out);
        }
    }
    for key in ["items", "additionalProperties"] {
        if schema[key].is_object() {
            url_fields(doc, &schema[key], &format!("{at}[]"), seen, out);
        }
    }
    for key in ["allOf", "oneOf", "anyOf"] {
        if let Some(list) = schema[key].as_array() {
            for s in list {
                url_fields(doc, s, at, seen, out);
            }
        }
    }
}

/// Field names that look like addresses but are not, with the reason.
const NOT_ADDRESSES: &[(&str, &str)] = &[(
    "host_user_id",
    "a walk-in visitor's host: a staff account's id (issue 16 names it), never called",
)];

/// The server calls out only to addresses from its configuration (SMTP,
/// the push webhook): no request field takes an address. Undeclared fields
/// are refused everywhere (see `no_body_takes_fields_it_does_not_declare`).
#[test]
fn no_request_field_takes_an_address_the_server_would_call() {
    let doc = document();
    let mut found = Vec::new();
    for (op, schema) in request_schemas(&doc) {
        url_fields(&doc, &schema, &op, &mut BTreeSet::new(), &mut found);
    }
    assert!(
        found.is_empty(),
        "request fields that look like addresses: {found:?}"
    );
}

// --- API10: unsafe consumption of the push gateway ---------------------------------------

/// A gateway that answers badly: a redirect inward, a flood of a body and
/// an endless provider id.
struct Hostile {
    url: String,
    inner_hits: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

const ECHO_MARKER: &str = "GATEWAY-SAYS-STORE-ME";

fn hostile_gateway(mode: &'static str) -> Hostile {
    use actix_web::{App, HttpResponse, HttpServer};
    use std::sync::atomic::{AtomicUsize, Ordering};
    let inner_hits = std::sync::Arc::new(AtomicUsize::new(0));
    let hits = inner_hits.clone();
    let inner = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let inner_url = format!(
        "http://127.0.0.1:{}/internal/admin",
        inner.local_addr().unwrap().port()
    );
    actix_web::rt::spawn(
        HttpServer::new(move || {
            let hits = hits.clone();
            App::new().default_service(web::to(move || {
                hits.fetch_add(1, Ordering::SeqCst);
                async { HttpResponse::Ok().finish() }
            }))
        })
        .workers(1)
        .disable_signals()
        .listen(inner)
        .unwrap()
        .run(),
    );
    let outer = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://127.0.0.1:{}/hook",
        outer.local_addr().unwrap().port()
    );
    actix_web::rt::spawn(
        HttpServer::new(move || {
            let inner_url = inner_url.clone();
            App::new().default_service(web::to(move || {
                let inner_url = inner_url.clone();
                async move {
                    match mode {
                        "redirect" => HttpResponse::TemporaryRedirect()
                            .insert_header(("Location", inner_url))
                            .body(ECHO_MARKER),
                        "flood" => HttpResponse::Ok()
                            .insert_header((
                                "X-Provider-Id",
                                format!("{ECHO_MARKER}{}", "z".repeat(8000)),
                            ))
                            .body(ECHO_MARKER.repeat(400_000)),
                        "slow" => {
                            // Longer than the delivery timeout; then a success
                            // that must come too late to count.
                            actix_web::rt::time::sleep(std::time::Duration::from_secs(25)).await;
                            HttpResponse::Ok().body(ECHO_MARKER)
                        }
                        _ => {
                            HttpResponse::build(actix_web::http::StatusCode::from_u16(599).unwrap())
                                .body(ECHO_MARKER)
                        }
                    }
                }
            }))
        })
        .workers(1)
        .disable_signals()
        .listen(outer)
        .unwrap()
        .run(),
    );
    Hostile { url, inner_hits }
}

async fn the_push_gateways_answers_are_not_trusted(app: TestApp) {
    let w = app.world().await;
    let secret = WebhookReceiver::start().secret;
    for (mode, delivered) in [
        ("redirect", false),
        ("flood", true),
        ("odd", false),
        ("slow", false),
    ] {
        let gw = hostile_gateway(mode);
        let url = gw.url.clone();
        let s = secret.clone();
        let state = app.state_with(move |st| {
            st.push_webhook_url = Some(url);
            st.push_webhook_secret = s.into_bytes();
            st.outbox_max_attempts = 1;
        });
        app.post(
            "/api/v1/notices",
            &w.x.teacher.token,
            json!({"audience": {"class_ids": [w.x.class_id]}, "to": "guardians",
                   "category": "general", "title": format!("mode {mode}"), "body": "b"}),
        )
        .await
        .expect(201);
        let sent_before = app
            .query_i64("SELECT COUNT(*) AS n FROM outbox WHERE state = 'sent'".into())
            .await;
        let st = state.clone();
        workers::run_outbox(&st).await;
        assert_eq!(
            gw.inner_hits.load(std::sync::atomic::Ordering::SeqCst),
            0,
            "{mode}: followed a redirect"
        );
        let sent = app
            .query_i64("SELECT COUNT(*) AS n FROM outbox WHERE state = 'sent'".into())
            .await;
        assert_eq!(sent > sent_before, delivered, "{mode}");
        assert_eq!(
            app.query_i64("SELECT COUNT(*) AS n FROM outbox WHERE state = 'pending'".into())
                .await,
            0,
            "{mode}: every message was tried once"
        );
        let stored = app.strings("SELECT COALESCE(provider_id, '') || ' ' || COALESCE(last_error, '') AS s FROM outbox"
                .into(),
        )
        .await;
        for s in &stored {
            assert!(
                !s.contains(ECHO_MARKER),
                "{mode}: stored what the gateway said: {s}"
            );
            assert!(s.len() <= 400, "{mode}: stored {} bytes", s.len());
        }
        let admin = app
            .get("/api/v1/admin/outbox", &w.district_admin.token)
            .await
            .expect(200);
        assert!(!admin.to_string().contains(ECHO_MARKER), "{mode}");
    }
}

// --- review findings ------------------------------------------------------------------------

async fn a_barred_guardian_no_longer_reads_the_childs_leave(app: TestApp) {
    let w = app.world().await;
    let dad = app.create_user(&w.x.admin, "parent", "x.dad", None).await;
    app.add_guardian(&w.x.admin, &w.x.student_id, &dad, "father")
        .await;
    let dad = app.login("x.dad", PASSWORD).await;
    let leave = app
        .post(
            "/api/v1/leave-requests",
            &w.x.teacher.token,
            json!({"student_id": w.x.student_id, "kind": "sick", "starts_at": TEN, "ends_at": NOON,
                   "reason": "fever", "leaves_campus": true}),
        )
        .await
        .expect(201);
    let id = id_of(&leave);
    let lists = [
        "/api/v1/leave-requests".to_string(),
        format!("/api/v1/leave-requests?student_id={}", w.x.student_id),
    ];
    for q in &lists {
        assert!(app
            .get(q, &w.x.parent.token)
            .await
            .expect(200)
            .to_string()
            .contains(&id));
    }
    app.get(&format!("/api/v1/leave-requests/{id}"), &w.x.parent.token)
        .await
        .expect(200);
    // A court order bars the mother.
    app.post(
        &format!("/api/v1/students/{}/pickup-blocks", w.x.student_id),
        &w.x.admin.token,
        json!({"name": "sch-x.parent", "note": "court order 2026-9", "court_order": true,
               "court_order_ref": "2026-9"}),
    )
    .await
    .expect(201);
    for q in &lists {
        let page = app.get(q, &w.x.parent.token).await.expect(200);
        assert!(!page.to_string().contains(&id), "{q}: {page}");
    }
    app.get(&format!("/api/v1/leave-requests/{id}"), &w.x.parent.token)
        .await
        .expect_problem(404, "not_found");
    // The father still follows his child.
    for q in &lists {
        assert!(app
            .get(q, &dad.token)
            .await
            .expect(200)
            .to_string()
            .contains(&id));
    }
    app.get(&format!("/api/v1/leave-requests/{id}"), &dad.token)
        .await
        .expect(200);
}

async fn a_pass_code_is_never_kept_for_replays_and_a_replay_gets_a_working_one(app: TestApp) {
    let w = app.world().await;
    let path = format!("/api/v1/students/{}/pickup-passes", w.x.student_id);
    let body = json!({"date": "2026-11-30"});
    let key = [("Idempotency-Key", "pass-attempt-1")];
    let send = || app.send("POST", &path, Some(&w.x.parent.token), Some(&body), &key);
    let first = send().await.expect(201);
    let pass_id = first["pass_id"].as_str().unwrap().to_string();
    let hashes = |pass: String| {
        let app = &app;
        async move {
            app.strings(format!("SELECT code_hash || ' ' || qr_token_hash AS s FROM pickup_passes WHERE id = '{pass}'")).await
        }
    };
    let secret_hashes = |code: &Value, qr: &Value| {
        format!(
            "{} {}",
            library::pass_code_hash(code.as_str().unwrap()),
            library::qr_token_hash(qr.as_str().unwrap())
        )
    };
    assert_eq!(
        hashes(pass_id.clone()).await,
        vec![secret_hashes(&first["code"], &first["qr_token"])]
    );
    let records = || app.strings("SELECT body AS s FROM idempotency_keys".into());
    for r in records().await {
        assert!(
            !r.contains(first["code"].as_str().unwrap()),
            "the record keeps the code: {r}"
        );
        assert!(
            !r.contains(first["qr_token"].as_str().unwrap()),
            "the record keeps the QR token"
        );
    }
    // The answer was lost; the retry gets the same pass with a code that works.
    let retry = send().await;
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    let again = retry.expect(201);
    assert_eq!(again["pass_id"], json!(pass_id));
    assert_eq!(app.count("pickup_passes").await, 1);
    assert_eq!(
        hashes(pass_id.clone()).await,
        vec![secret_hashes(&again["code"], &again["qr_token"])]
    );
    assert_ne!(
        again["qr_token"], first["qr_token"],
        "the lost token still works"
    );
    for r in records().await {
        assert!(!r.contains(again["code"].as_str().unwrap()));
    }
    // A cancelled pass is not brought back by a replay.
    app.post(
        &format!("/api/v1/pickup-passes/{pass_id}/cancel"),
        &w.x.parent.token,
        json!({}),
    )
    .await;
    send().await.expect_problem(409, "pass_not_active");
    // The same key with another body is still refused.
    app.send(
        "POST",
        &path,
        Some(&w.x.parent.token),
        Some(&json!({"date": "2026-12-01"})),
        &key,
    )
    .await
    .expect_problem(422, "idempotency_key_reused");
}

async fn school_admins_do_not_see_when_tip_line_alerts_went_out(app: TestApp) {
    let sc = scene(&app).await;
    let w = &sc.w;
    let tipline_rows = app
        .strings(
            "SELECT o.id AS s FROM outbox o JOIN notifications n ON n.id = o.notification_id \
         WHERE n.category = 'tipline' ORDER BY o.id"
                .into(),
        )
        .await;
    assert!(
        !tipline_rows.is_empty(),
        "the reports raised no alerts to deliver"
    );
    // A school's own notice, for contrast.
    app.post(
        "/api/v1/notices",
        &w.x.teacher.token,
        json!({"audience": {"class_ids": [w.x.class_id]}, "to": "guardians",
               "category": "general", "title": "t", "body": "b"}),
    )
    .await
    .expect(201);
    let list = |s: &Session| {
        let token = s.token.clone();
        let app = &app;
        async move {
            let mut all = String::new();
            for state in ["pending", "sending", "sent", "dead", "skipped"] {
                let r = app
                    .get(
                        &format!("/api/v1/admin/outbox?state={state}&limit=100"),
                        &token,
                    )
                    .await
                    .expect(200);
                all.push_str(&r.to_string());
            }
            all
        }
    };
    let school = list(&w.x.admin).await;
    for id in &tipline_rows {
        assert!(
            !school.contains(id.as_str()),
            "school admin sees tip-line delivery {id}"
        );
    }
    assert!(
        school.contains(&w.x.parent.user_id),
        "the school's own deliveries are listed"
    );
    let district = list(&w.district_admin).await;
    assert!(tipline_rows.iter().any(|id| district.contains(id.as_str())));
    // Nor can they act on one.
    app.execute(format!(
        "UPDATE outbox SET state = 'dead' WHERE id = '{}'",
        tipline_rows[0]
    ))
    .await;
    app.send(
        "POST",
        &format!("/api/v1/admin/outbox/{}/retry", tipline_rows[0]),
        Some(&w.x.admin.token),
        None,
        &[],
    )
    .await
    .expect_problem(404, "not_found");
}

async fn the_last_bureau_reader_cannot_recuse(app: TestApp) {
    let sc = scene(&app).await;
    let w = &sc.w;
    // The officer who vetted the world's staff would be a second reader.
    let officer = app.vetting_officer().await;
    app.send(
        "POST",
        &format!("/api/v1/users/{}/disable", officer.user_id),
        Some(&w.district_admin.token),
        None,
        &[],
    )
    .await
    .expect(200);
    let reports = app
        .get("/api/v1/reports", &w.x.admin.token)
        .await
        .expect(200);
    let id = id_of(&reports["items"][0]);
    let recuse = |s: &Session| {
        let token = s.token.clone();
        let url = format!("/api/v1/reports/{id}/recuse");
        let app = &app;
        async move { app.send("POST", &url, Some(&token), None, &[]).await }
    };
    recuse(&sc.bureau.s)
        .await
        .expect_problem(409, "last_district_reader");
    app.get(&format!("/api/v1/reports/{id}"), &sc.bureau.s.token)
        .await
        .expect(200);
    // With a second officer, one may step away; then the other may not.
    app.create_user(&w.district_admin, "bureau_officer", "bureau.qian", None)
        .await;
    let qian = app.login("bureau.qian", PASSWORD).await;
    let r = recuse(&sc.bureau.s).await;
    assert_eq!(r.status, 204, "{}", r.text);
    app.get(&format!("/api/v1/reports/{id}"), &sc.bureau.s.token)
        .await
        .expect_problem(404, "not_found");
    recuse(&qian)
        .await
        .expect_problem(409, "last_district_reader");
    // School recipients may still step away: the district keeps it.
    let r = recuse(&sc.x_counselor.s).await;
    assert_eq!(r.status, 204, "{}", r.text);
}

async fn a_reporter_cannot_flood_a_report_with_messages(app: TestApp) {
    let sc = scene(&app).await;
    let receipt = sc.receipts[0].clone();
    let alerts = || {
        app.query_i64(
            "SELECT COUNT(*) AS n FROM notifications WHERE template = 'tipline.reporter_message'"
                .into(),
        )
    };
    let send = || {
        app.post_anon(
            "/api/v1/reports/followup/messages",
            json!({"receipt": receipt, "plaintext": {"text": "are you there?"}}),
        )
    };
    let mut sent = 0;
    let mut throttled = None;
    for _ in 0..40 {
        let r = send().await;
        if r.status == 429 {
            throttled = Some(r);
            break;
        }
        r.expect(201);
        sent += 1;
    }
    let r = throttled.expect("a report takes messages without limit");
    r.expect_problem(429, "report_messages_throttled");
    assert!(r.header("retry-after").is_some());
    assert!((1..=20).contains(&sent), "{sent}");
    release_windows(&app).await;
    let alerted = alerts().await;
    assert!(alerted > 0);
    send()
        .await
        .expect_problem(429, "report_messages_throttled");
    release_windows(&app).await;
    assert_eq!(alerts().await, alerted, "a refused message alerted someone");
    // Another report is not affected, and the limit passes with the hour.
    app.post_anon(
        "/api/v1/reports/followup/messages",
        json!({"receipt": sc.receipts[1], "plaintext": {"text": "hello"}}),
    )
    .await
    .expect(201);
    app.clock.advance(chrono::Duration::minutes(61));
    send().await.expect(201);
}

async fn a_bogus_wrap_does_not_hide_a_recipients_real_one(app: TestApp) {
    use library::Envelope;
    let sc = scene(&app).await;
    let w = &sc.w;
    app.create_user(&w.x.admin, "counselor", "sch-x.newcomer", None)
        .await;
    let newcomer = register_key(&app, app.login("sch-x.newcomer", PASSWORD).await).await;
    designate(
        &app,
        &w.x.admin,
        &w.x.id,
        &[
            &sc.x_admin.s.user_id,
            &sc.x_counselor.s.user_id,
            &newcomer.s.user_id,
        ],
    )
    .await;
    let reports = app
        .get("/api/v1/reports", &newcomer.s.token)
        .await
        .expect(200);
    let id = id_of(&reports["items"][0]);
    let detail = app
        .get(&format!("/api/v1/reports/{id}"), &sc.x_admin.s.token)
        .await
        .expect(200);
    let env: Envelope = serde_json::from_value(detail["envelope"].clone()).unwrap();
    let pk = hpke::public_of(&newcomer.sk);
    let add = |s: &Session, wrap: envelope::KeyWrap| {
        let token = s.token.clone();
        let url = format!("/api/v1/reports/{id}/keys");
        let body = json!({"wraps": [{"object_id": id, "key_id": wrap.key_id, "enc": wrap.enc, "ct": wrap.ct}]});
        let app = &app;
        async move { app.post(&url, &token, body).await }
    };
    // A reader with a grudge wraps a made-up content key for the newcomer.
    let bogus = envelope::wrap_content_key(&newcomer.key_id, &pk, &[7u8; 32]).unwrap();
    assert_eq!(
        add(&sc.x_counselor.s, bogus).await.expect(200)["wraps_added"],
        1
    );
    // A colleague's real wrap still gets in, and the newcomer reads the report.
    let ck = env.content_key(&sc.x_admin.sk).unwrap();
    let real = envelope::wrap_content_key(&newcomer.key_id, &pk, &ck).unwrap();
    assert_eq!(add(&sc.x_admin.s, real).await.expect(200)["wraps_added"], 1);
    let mine = app
        .get(&format!("/api/v1/reports/{id}"), &newcomer.s.token)
        .await
        .expect(200);
    let env: Envelope = serde_json::from_value(mine["envelope"].clone()).unwrap();
    let text: Value = serde_json::from_slice(&env.open(&newcomer.sk).unwrap()).unwrap();
    assert_eq!(text["text"], "report to x");
    // Wraps per key are bounded.
    let mut refused = None;
    for i in 0..20u8 {
        let junk = envelope::wrap_content_key(&newcomer.key_id, &pk, &[i; 32]).unwrap();
        let r = add(&sc.x_counselor.s, junk).await;
        if r.status != 200 {
            refused = Some(r);
            break;
        }
    }
    refused
        .expect("wraps pile up without bound")
        .expect_problem(422, "too_many_wraps");
}

async fn an_event_stream_ends_when_its_session_does(app: TestApp) {
    use futures_util::StreamExt;
    let w = app.world().await;
    let s = w.x.parent.clone();
    let mut res = app
        .client
        .get(app.url("/api/v1/me/notifications/stream"))
        .insert_header(("Authorization", format!("Bearer {}", s.token)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let first = res.next().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).contains("event: unread"));
    let r = app
        .post_anon("/api/v1/auth/logout", json!({"refresh_token": s.refresh}))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    // The stream ends by itself. The bound only keeps a regression from
    // hanging the suite; the server checks every poll.
    let ended = tokio::time::timeout(std::time::Duration::from_secs(40), async {
        while let Some(chunk) = res.next().await {
            if chunk.is_err() {
                break;
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the event stream outlived its session");
}

on_both_databases!(
    every_route_is_documented_and_every_documented_route_is_served,
    responses_carry_safe_headers_and_errors_tell_no_internals,
    tampered_expired_and_foreign_tokens_are_refused,
    a_reused_refresh_token_revokes_its_family_and_logout_takes_effect,
    another_schools_objects_are_not_found_on_every_route,
    another_familys_objects_are_not_found_on_every_route,
    every_restricted_route_refuses_every_lower_role,
    no_body_takes_fields_it_does_not_declare,
    no_response_carries_secrets_hashes_or_forbidden_fields,
    bodies_lists_attachments_and_anonymous_reports_are_bounded,
    senders_reach_only_the_audience_their_role_allows,
    the_push_gateways_answers_are_not_trusted,
    a_barred_guardian_no_longer_reads_the_childs_leave,
    a_pass_code_is_never_kept_for_replays_and_a_replay_gets_a_working_one,
    school_admins_do_not_see_when_tip_line_alerts_went_out,
    the_last_bureau_reader_cannot_recuse,
    a_reporter_cannot_flood_a_report_with_messages,
    a_bogus_wrap_does_not_hide_a_recipients_real_one,
    an_event_stream_ends_when_its_session_does,
);
