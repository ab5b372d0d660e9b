//! The documented routes as data, for walks over every operation: the
//! operations of the OpenAPI document, a body each will accept, the objects
//! their paths name (filled from a scene's ids or made-up ones), and who may
//! call each.

use super::library::{self, b64u, hpke};
use super::{NOON, PASSWORD, TEN};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};

pub const API: &str = "/api/v1";
pub const NOWHERE: &str = "0190f000-0000-7000-8000-000000000000";

pub struct Op {
    pub method: String,
    /// As served, with `/api/v1`.
    pub path: String,
    pub id: String,
    pub op: Value,
}

pub fn document() -> Value {
    serde_json::from_str(&library::openapi_json()).unwrap()
}

pub fn operations(doc: &Value) -> Vec<Op> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            out.push(Op {
                method: method.to_uppercase(),
                path: path.clone(),
                id: op["operationId"].as_str().unwrap().to_string(),
                op: op.clone(),
            });
        }
    }
    out
}

pub fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => {
            let name = r.rsplit('/').next().unwrap();
            resolve(doc, &doc["components"]["schemas"][name])
        }
        None => schema,
    }
}

pub fn request_schema<'a>(doc: &'a Value, op: &'a Value) -> Option<&'a Value> {
    let content = op["requestBody"]["content"].as_object()?;
    let (_, media) = content.iter().next()?;
    Some(resolve(doc, &media["schema"]))
}

/// A body that satisfies the schema's shape (required fields, plausible
/// values), so that a request reaches the checks behind parsing.
pub fn sample(doc: &Value, schema: &Value, ids: &HashMap<&str, String>, field: &str) -> Value {
    let schema = resolve(doc, schema);
    if let Some(all) = schema["allOf"].as_array() {
        return sample(doc, &all[0], ids, field);
    }
    if let Some(one) = schema["oneOf"].as_array().or(schema["anyOf"].as_array()) {
        let first = one.iter().find(|s| s["type"] != "null").unwrap_or(&one[0]);
        return sample(doc, first, ids, field);
    }
    if let Some(values) = schema["enum"].as_array() {
        return values.iter().find(|v| !v.is_null()).cloned().unwrap();
    }
    let ty = match &schema["type"] {
        Value::Array(ts) => ts
            .iter()
            .find(|t| *t != "null")
            .and_then(Value::as_str)
            .unwrap_or("string")
            .to_string(),
        Value::String(t) => t.clone(),
        _ if schema["properties"].is_object() => "object".into(),
        _ => "string".into(),
    };
    match ty.as_str() {
        "object" => {
            let mut out = serde_json::Map::new();
            let required: BTreeSet<&str> = schema["required"]
                .as_array()
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if let Some(props) = schema["properties"].as_object() {
                for (name, p) in props {
                    if required.contains(name.as_str()) {
                        out.insert(name.clone(), sample(doc, p, ids, name));
                    }
                }
            }
            Value::Object(out)
        }
        "array" => json!([]),
        "integer" | "number" => json!(1),
        "boolean" => json!(false),
        _ => match schema["format"].as_str() {
            Some("date") => json!("2026-11-30"),
            Some("date-time") => json!(TEN),
            _ => {
                let id = |k: &str| json!(ids.get(k).cloned().unwrap_or_else(|| NOWHERE.into()));
                match field {
                    "student_id" => id("student"),
                    "school_id" => id("school"),
                    "class_id" => id("class"),
                    "user_id" | "guardian_user_id" => id("user"),
                    "phone" => json!("13800000077"),
                    "time" | "pass_cutoff" => json!("12:00"),
                    _ => json!("x"),
                }
            }
        },
    }
}

/// A body for an operation that gets past parsing and validation, so the
/// checks behind them are what answers.
pub fn body_for(doc: &Value, op: &Op, ids: &HashMap<&str, String>) -> Option<Value> {
    let schema = request_schema(doc, &op.op)?;
    let id = |k: &str| ids.get(k).cloned().unwrap_or_else(|| NOWHERE.into());
    Some(match op.id.as_str() {
        "add_pickup_person" => json!({"name": "Uncle Wang", "relation": "uncle",
            "phone": "13800000002", "valid_from": "2026-11-30", "valid_until": "2026-12-31"}),
        "propose_recipients" => json!({"user_ids": [id("user")]}),
        "read_key_backup" => json!({"password": PASSWORD}),
        "create_school" => json!({"name": "Z School", "code": "SCH-Z", "kind": "primary"}),
        "create_user" => json!({"role": "teacher", "username": "made.by.test",
            "display_name": "m", "password": PASSWORD}),
        "create_class" => json!({"grade": 3, "name": "Class 3"}),
        "create_student" => json!({"school_id": id("school"), "class_id": id("class"),
            "name": "made-by-test", "student_no": "NO-made", "grade": 1}),
        "add_guardian" => json!({"user_id": id("user"), "relation": "aunt", "primary": false}),
        "put_pickup_settings" => json!({"pass_cutoff": "12:00", "dismissal_times": []}),
        "put_encryption_key" => {
            let (_, pk) = hpke::generate();
            json!({"public_key": b64u(&hpke::public_key_bytes(&pk)), "key_backup": "b",
                   "password": PASSWORD})
        }
        "issue_pickup_pass" => json!({"date": "2026-11-30"}),
        "add_pickup_block" => json!({"name": "Someone Else", "note": "n"}),
        "create_leave" => json!({"student_id": id("student"), "kind": "sick", "starts_at": TEN,
            "ends_at": NOON, "reason": "fever", "leaves_campus": true}),
        "take_roll_call" => json!({"date": "2026-11-30", "period": 2, "absent": []}),
        "create_handover" => json!({"student_id": id("student"), "guardian_user_id": id("user")}),
        "create_notice" => json!({"audience": {"school_ids": [id("school")]}, "to": "guardians",
            "category": "general", "title": "t", "body": "b"}),
        "raise_concern" => json!({"student_ids": [id("student")], "what_happened": "w",
            "where": "gate", "when": "2026-11-29T23:00:00Z"}),
        "triage_concern" => json!({"decision": "monitor", "note": "n"}),
        "create_visit" => json!({"school_id": id("school"), "visitor": {"name": "Visitor",
            "phone": "13800000077"}, "purpose": "p", "window": {"from": TEN, "until": NOON}}),
        "link_visit_case" => json!({"case_id": id("case")}),
        "create_case" => json!({"school_id": id("school"), "student_ids": [id("student")],
            "category": "other_violence", "source": {"kind": "observation"}, "summary": "s",
            "suspect": {"kind": "unknown"}}),
        _ => sample(doc, schema, ids, ""),
    })
}

/// The operation's required query parameters, with plausible values.
pub fn with_query(doc: &Value, op: &Value, url: String) -> String {
    let ids = HashMap::new();
    let q: Vec<String> = op["parameters"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .filter(|p| p["in"] == "query" && p["required"] == true)
                .map(|p| {
                    let v = sample(doc, &p["schema"], &ids, p["name"].as_str().unwrap());
                    let v = match v {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    format!(
                        "{}={}",
                        p["name"].as_str().unwrap(),
                        v.replace(':', "%3A").replace('+', "%2B")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    if q.is_empty() {
        url
    } else {
        format!("{url}?{}", q.join("&"))
    }
}

/// Whether a concrete path is served by a path template.
pub fn matches_template(template: &str, path: &str) -> bool {
    let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(a, b)| a == b || (a.starts_with('{') && a.ends_with('}')))
}

pub fn params(template: &str) -> Vec<String> {
    template
        .split('/')
        .filter(|s| s.starts_with('{'))
        .map(|s| s.trim_matches(|c| c == '{' || c == '}').to_string())
        .collect()
}

/// Which kind of object a path parameter names, from the path's family.
/// A new route whose object is unknown here fails the BOLA walk until it is
/// added (or listed as public below).
pub fn object_kind(template: &str, param: &str) -> &'static str {
    if param == "person_id" {
        return "person";
    }
    if param == "school_code" {
        return "school_code";
    }
    if param == "user_id" {
        return "user";
    }
    let family = template
        .trim_start_matches(API)
        .split('/')
        .nth(1)
        .unwrap_or_default();
    match (family, param) {
        ("absences", "id") => "absence",
        ("cases", "id") => "case",
        ("concerns", "id") => "concern",
        ("admin", "id") => "outbox",
        ("classes", "id") => "class",
        ("dorms", "id") => "dorm",
        ("handovers", "id") => "handover",
        ("leave-requests", "id") => "leave",
        ("data-requests", "id") => "data_request",
        ("me", "id") => "notification",
        ("notices", "id") => "notice",
        ("pickup-blocks", "id") => "block",
        ("pickup-passes", "id") => "pass",
        ("pickup-persons", "id") => "person",
        ("personnel", "id") => "personnel",
        ("recipient-changes", "id") => "recipient_change",
        ("reports", "id") => "report",
        ("schools", "id") => "school",
        ("students", "id") => "student",
        ("transfers", "id") => "transfer",
        ("users", "id") => "user",
        ("visits", "id") => "visit",
        ("watch-list", "id") => "watch",
        _ => panic!(
            "{template}: parameter {param} names an object the BOLA walk does not know; add it"
        ),
    }
}

/// Objects anyone may name, with the reason.
pub const PUBLIC_OBJECTS: &[(&str, &str)] = &[(
    "/api/v1/mailboxes/{school_code}",
    "a school's mailbox keys are public: reporters seal to them before any account exists",
)];

pub fn fill(template: &str, ids: &HashMap<&str, String>) -> Option<String> {
    let mut out = template.to_string();
    for p in params(template) {
        let id = ids.get(object_kind(template, &p))?;
        out = out.replace(&format!("{{{p}}}"), id);
    }
    Some(out)
}

pub fn nowhere_ids() -> HashMap<&'static str, String> {
    [
        "absence",
        "case",
        "outbox",
        "class",
        "handover",
        "leave",
        "notification",
        "notice",
        "block",
        "pass",
        "person",
        "personnel",
        "recipient_change",
        "report",
        "school",
        "student",
        "user",
        "concern",
        "visit",
        "watch",
        "dorm",
        "transfer",
        "data_request",
    ]
    .into_iter()
    .enumerate()
    .map(|(i, k)| (k, format!("0190f000-0000-7000-8000-{:012}", i + 1)))
    .chain([("school_code", "SCH-NOWHERE".to_string())])
    .collect()
}

pub const STAFF: &[&str] = &[
    "district_admin",
    "bureau_officer",
    "school_admin",
    "teacher",
    "guard",
    "counselor",
    "legal_vp",
    "dorm_manager",
];
/// Staff who work at one school.
pub const SCHOOL_STAFF: &[&str] = &[
    "school_admin",
    "teacher",
    "guard",
    "counselor",
    "legal_vp",
    "dorm_manager",
];
pub const ADMINS: &[&str] = &["district_admin", "school_admin"];
/// Staff who read pupils' records: all but guards.
pub const RECORD_STAFF: &[&str] = &[
    "district_admin",
    "bureau_officer",
    "school_admin",
    "teacher",
    "counselor",
    "legal_vp",
    "dorm_manager",
];
/// A pupil's record: record staff, the family and the pupil.
pub const RECORD_READERS: &[&str] = &[
    "district_admin",
    "bureau_officer",
    "school_admin",
    "teacher",
    "counselor",
    "legal_vp",
    "dorm_manager",
    "parent",
    "student",
];
pub const KEY_HOLDERS: &[&str] = &["school_admin", "counselor", "bureau_officer"];
pub const GATE: &[&str] = &["school_admin", "teacher", "guard"];
/// Who opens and handles cases; which case each sees is the case's handlers.
pub const CASE_WORKERS: &[&str] = &["school_admin", "teacher", "counselor", "bureau_officer"];
/// Who triages concerns and reads a pupil's chronology.
pub const SAFEGUARDING_LEADS: &[&str] = &["school_admin", "counselor", "bureau_officer"];

/// Who may call each restricted operation; everyone else gets 403 (or 404).
pub fn role_matrix() -> BTreeMap<&'static str, &'static [&'static str]> {
    let mut m: BTreeMap<&str, &[&str]> = BTreeMap::new();
    for op in ["create_school", "verify_chain"] {
        m.insert(op, &["district_admin"]);
    }
    for op in [
        "create_class",
        "create_user",
        "disable_user",
        "create_student",
        "add_guardian",
        "end_guardianship",
        "offboard_user",
        "import_roster",
        "export_roster",
        "patch_student",
        "patch_class",
        "patch_school",
        "put_pickup_settings",
        "propose_recipients",
        "dismissal_summary",
        "admin_outbox",
        "retry_outbox",
    ] {
        m.insert(op, ADMINS);
    }
    for op in [
        "overdue_reports",
        "confirm_close",
        "classify",
        "report_history",
        "list_recipient_changes",
        "approve_recipient_change",
    ] {
        m.insert(op, &["bureau_officer"]);
    }
    m.insert("audit_head", &["district_admin", "bureau_officer"]);
    m.insert(
        "create_notice",
        &["teacher", "school_admin", "bureau_officer"],
    );
    for op in [
        "list_notices",
        "get_notice",
        "receipts",
        "coverage",
        "get_pickup_settings",
    ] {
        m.insert(op, STAFF);
    }
    for op in [
        "put_encryption_key",
        "get_encryption_key",
        "read_key_backup",
        "list_reports",
        "get_report",
        "staff_reply",
        "change_status",
        "recuse",
        "add_keys",
        "undecryptable",
    ] {
        m.insert(op, KEY_HOLDERS);
    }
    for op in [
        "create_handover",
        "dismissal_board",
        "exit",
        "gate_exit",
        "record_return",
    ] {
        m.insert(op, GATE);
    }
    m.insert("my_children", &["parent"]);
    // Transfers: the bureau at once, a school admin by request; the
    // receiving school's admin accepts.
    for op in ["request_transfer", "list_transfers", "decline_transfer"] {
        m.insert(op, &["bureau_officer", "school_admin"]);
    }
    m.insert("accept_transfer", &["school_admin"]);
    // A school's safeguarding handlers: any staff sees who they are; the
    // principal names them.
    m.insert("list_leads", STAFF);
    for op in ["name_lead", "withdraw_lead"] {
        m.insert(op, &["school_admin"]);
    }
    // Guards see pupils only through the gate's routes.
    for op in ["list_classes", "list_class_students", "get_class"] {
        m.insert(op, RECORD_STAFF);
    }
    m.insert("get_student", RECORD_READERS);
    m.insert("attendance", RECORD_READERS);
    // Consents: the pupil's guardians decide, the school admin reads.
    m.insert("list_consents", &["parent", "school_admin"]);
    m.insert("decide_consent", &["parent"]);
    // Data requests: families ask, the school admin answers.
    for op in ["create_data_request", "my_data_requests"] {
        m.insert(op, &["parent"]);
    }
    m.insert("school_data_requests", ADMINS);
    // The pupil's school admin answers (the district admin passes the role
    // and finds no request: 404).
    m.insert("answer_data_request", &["school_admin"]);
    m.insert(
        "list_users",
        &["district_admin", "bureau_officer", "school_admin"],
    );
    // Staff vetting: the bureau records checks; admins register workers and
    // record commitments and training; the bureau and admins read.
    m.insert("record_check", &["bureau_officer"]);
    m.insert("lift_suspension", &["bureau_officer"]);
    for op in ["create_personnel", "record_commitment", "record_training"] {
        m.insert(op, ADMINS);
    }
    for op in ["list_personnel", "get_personnel", "vetting_summary"] {
        m.insert(op, &["district_admin", "bureau_officer", "school_admin"]);
    }
    // A primary guardian bars someone from their own child (another guardian
    // is refused by the service, not the role); the school admin anyone.
    m.insert(
        "add_pickup_block",
        &["district_admin", "school_admin", "parent"],
    );
    m.insert("lift_pickup_block", ADMINS);
    // A pending entry naming a guardian is decided by the school admin.
    m.insert("confirm_pickup_block", ADMINS);
    m.insert("reject_pickup_block", ADMINS);

    // Cases: the school's case workers and the bureau; the bureau alone
    // acknowledges, confirms closures and reads the statistics.
    for op in [
        "create_case",
        "list_cases",
        "get_case",
        "case_timeline",
        "record_police_report",
        "add_case_entry",
        "add_case_support",
        "propose_case_close",
    ] {
        m.insert(op, CASE_WORKERS);
    }
    for op in ["acknowledge_case", "confirm_case_close", "case_summary"] {
        m.insert(op, &["bureau_officer"]);
    }
    m.insert("add_case_measure", &["school_admin", "bureau_officer"]);
    // Concerns: any school staff raises one and sees their own; the
    // principal and counsellors triage; the chronology adds the bureau.
    for op in ["raise_concern", "list_concerns", "get_concern"] {
        m.insert(op, SCHOOL_STAFF);
    }
    for op in ["triage_concern", "student_chronology"] {
        m.insert(op, SAFEGUARDING_LEADS);
    }
    // The gate: any school staff hosts a visitor and decides on their own
    // visit (the school admin on any); the guard checks visitors in and out;
    // the watch list is the school admin's and the bureau's.
    for op in ["create_visit", "approve_visit", "refuse_visit"] {
        m.insert(op, SCHOOL_STAFF);
    }
    for op in ["gate_check_in", "check_out_visit"] {
        m.insert(op, &["guard"]);
    }
    m.insert("list_visits", &["school_admin", "guard"]);
    m.insert("link_visit_case", &["school_admin", "bureau_officer"]);
    for op in ["list_watch_list", "add_watch_entry", "lift_watch_entry"] {
        m.insert(op, &["district_admin", "bureau_officer", "school_admin"]);
    }
    // Dormitories: the admins open them and assign residents and staff; a
    // man's entry is recorded by the school admin and the dormitory's staff
    // (approved) or by a guard or teacher who saw it (an incident).
    for op in ["create_dorm", "add_dorm_residents", "add_dorm_staff"] {
        m.insert(op, ADMINS);
    }
    m.insert(
        "record_dorm_entry",
        &["school_admin", "teacher", "guard", "dorm_manager"],
    );
    m.insert(
        "take_dorm_roll_call",
        &["school_admin", "teacher", "dorm_manager"],
    );
    m.insert("take_roll_call", &["school_admin", "teacher"]);
    m.insert("decision", &["school_admin", "teacher"]);
    m
}
