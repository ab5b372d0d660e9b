//! The scene of the walks over every route: the world, a bureau officer,
//! tip-line key holders, a report to each school, every role of school X,
//! and one of every kind of object a school's family has.

use super::tipline::{submit_sealed, tip_world, Holder, TipWorld};
use super::{SchoolPeople, Session, TestApp, World, NOON, PASSWORD, TEN};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};

/// The world, a bureau officer, tip-line key holders (X's admin and
/// counsellor, Y's admin, the bureau), a report to each school, and school
/// X's other roles.
pub struct Scene {
    pub w: World,
    pub bureau: Holder,
    pub x_admin: Holder,
    pub x_counselor: Holder,
    pub roles: BTreeMap<&'static str, Session>,
    pub receipts: Vec<String>,
}

pub async fn scene(app: &TestApp) -> Scene {
    let TipWorld {
        w,
        bureau,
        x_admin,
        x_counselor,
        ..
    } = tip_world(app).await;
    for (role, name) in [
        ("legal_vp", "sch-x.legalvp"),
        ("dorm_manager", "sch-x.dorm"),
        ("student", "sch-x.student"),
    ] {
        app.create_user(&w.x.admin, role, name, None).await;
    }
    let receipts = vec![
        submit_sealed(app, "SCH-X", "report to x", "normal", false).await,
        submit_sealed(app, "SCH-Y", "report to y", "normal", false).await,
    ];
    let mut roles = BTreeMap::new();
    roles.insert("district_admin", w.district_admin.clone());
    roles.insert("bureau_officer", bureau.s.clone());
    roles.insert("school_admin", w.x.admin.clone());
    roles.insert("teacher", w.x.teacher.clone());
    roles.insert("guard", w.x.guard.clone());
    roles.insert("counselor", x_counselor.s.clone());
    roles.insert("legal_vp", app.login("sch-x.legalvp", PASSWORD).await);
    roles.insert("dorm_manager", app.login("sch-x.dorm", PASSWORD).await);
    roles.insert("parent", w.x.parent.clone());
    roles.insert("student", app.login("sch-x.student", PASSWORD).await);
    Scene {
        w,
        bureau,
        x_admin,
        x_counselor,
        roles,
        receipts,
    }
}

/// One of every kind of object, belonging to one school's family: the
/// pupil, their parent, their class and school, and what the school day
/// makes of them.
pub async fn objects_of(
    app: &TestApp,
    p: &SchoolPeople,
    student: &str,
    parent: &Session,
    report_holder: &Session,
) -> HashMap<&'static str, String> {
    let mut ids: HashMap<&'static str, String> = HashMap::new();
    let code = app
        .strings(format!(
            "SELECT code AS s FROM schools WHERE id = '{}'",
            p.id
        ))
        .await;
    ids.insert("school_code", code[0].clone());
    ids.insert("school", p.id.clone());
    ids.insert("class", p.class_id.clone());
    ids.insert("student", student.to_string());
    ids.insert("user", parent.user_id.clone());
    let personnel = app
        .strings(format!(
            "SELECT id AS s FROM personnel WHERE user_id = '{}'",
            p.teacher.user_id
        ))
        .await;
    ids.insert("personnel", personnel[0].clone());
    let person = app
        .post(
            &format!("/api/v1/students/{student}/pickup-persons"),
            &parent.token,
            json!({"name": "Grandma Li", "relation": "grandmother", "phone": "13800000001",
                   "valid_from": "2026-11-30", "valid_until": "2026-12-31"}),
        )
        .await
        .expect(201);
    ids.insert("person", id_of(&person));
    let request = app
        .post(
            "/api/v1/me/data-requests",
            &parent.token,
            json!({"kind": "copy", "student_id": student, "detail": "all of it"}),
        )
        .await
        .expect(201);
    ids.insert("data_request", id_of(&request));
    let pass = app
        .post(
            &format!("/api/v1/students/{student}/pickup-passes"),
            &parent.token,
            json!({"date": "2026-11-30"}),
        )
        .await
        .expect(201);
    ids.insert("pass", pass["pass_id"].as_str().unwrap().to_string());
    let block = app
        .post(
            &format!("/api/v1/students/{student}/pickup-blocks"),
            &p.admin.token,
            json!({"name": "Stranger Danger", "note": "not allowed"}),
        )
        .await
        .expect(201);
    ids.insert("block", id_of(&block));
    let leave = app
        .post(
            "/api/v1/leave-requests",
            &p.teacher.token,
            json!({"student_id": student, "kind": "sick", "starts_at": TEN, "ends_at": NOON,
                   "reason": "fever", "leaves_campus": true}),
        )
        .await
        .expect(201);
    ids.insert("leave", id_of(&leave));
    let notice = app
        .post(
            "/api/v1/notices",
            &p.admin.token,
            json!({"audience": {"school_ids": [p.id]}, "to": "guardians", "category": "general",
                   "title": "Open day", "body": "Come and see", "requires_ack": true,
                   "ack_due_at": "2026-12-05T00:00:00Z"}),
        )
        .await
        .expect(201);
    ids.insert("notice", id_of(&notice));
    let handover = app
        .post(
            "/api/v1/handovers",
            &p.guard.token,
            json!({"student_id": student, "guardian_user_id": parent.user_id}),
        )
        .await
        .expect(201);
    ids.insert(
        "handover",
        handover["handover_id"].as_str().unwrap().to_string(),
    );
    app.post(
        &format!("/api/v1/classes/{}/roll-calls", p.class_id),
        &p.teacher.token,
        json!({"date": "2026-11-30", "period": 1, "absent": [student]}),
    )
    .await
    .expect(201);
    let absence = app
        .strings(format!(
            "SELECT id AS s FROM absences WHERE student_id = '{student}'"
        ))
        .await;
    ids.insert("absence", absence[0].clone());
    let note = app
        .strings(format!(
            "SELECT id AS s FROM notifications WHERE user_id = '{}' ORDER BY id",
            parent.user_id
        ))
        .await;
    ids.insert("notification", note[0].clone());
    let outbox = app
        .strings(format!(
            "SELECT id AS s FROM outbox WHERE user_id = '{}' ORDER BY id",
            parent.user_id
        ))
        .await;
    ids.insert("outbox", outbox[0].clone());
    let case = app
        .post(
            "/api/v1/cases",
            &p.admin.token,
            json!({"school_id": p.id, "student_ids": [student], "category": "other_violence",
                   "source": {"kind": "observation"}, "summary": "a push in the corridor",
                   "suspect": {"kind": "student"}}),
        )
        .await
        .expect(201);
    ids.insert("case", id_of(&case));
    let concern = app
        .post(
            "/api/v1/concerns",
            &p.admin.token,
            json!({"student_ids": [student], "what_happened": "a push in the corridor",
                   "where": "corridor", "when": "2026-11-29T23:00:00Z"}),
        )
        .await
        .expect(201);
    ids.insert("concern", id_of(&concern));
    let visit = app
        .post(
            "/api/v1/visits",
            &p.teacher.token,
            json!({"school_id": p.id, "visitor": {"name": "Visitor Zhang", "phone": "13800000099"},
                   "purpose": "a meeting", "window": {"from": TEN, "until": NOON}}),
        )
        .await
        .expect(201);
    ids.insert("visit", id_of(&visit["visit"]));
    let watch = app
        .post(
            &format!("/api/v1/schools/{}/watch-list", p.id),
            &p.admin.token,
            json!({"name": "Banned Person", "phone": "13800000098", "note": "loitering"}),
        )
        .await
        .expect(201);
    ids.insert("watch", id_of(&watch));
    let dorm = app
        .post(
            &format!("/api/v1/schools/{}/dorms", p.id),
            &p.admin.token,
            json!({"name": "Lotus House", "kind": "girls"}),
        )
        .await
        .expect(201);
    ids.insert("dorm", id_of(&dorm));
    // A pending transfer into this school, from a school of its own (its
    // admin asks; this school's admin decides).
    let district = app.login("admin", crate::support::ADMIN_PASSWORD).await;
    let code = format!("SCH-T{}", &p.id[p.id.len() - 6..]);
    let elsewhere = app
        .post(
            "/api/v1/schools",
            &district.token,
            json!({"name": format!("Elsewhere {code}"), "code": code, "kind": "primary"}),
        )
        .await
        .expect(201);
    let elsewhere = id_of(&elsewhere);
    let class = app
        .post(
            &format!("/api/v1/schools/{elsewhere}/classes"),
            &district.token,
            json!({"grade": 2, "name": "Class 2"}),
        )
        .await
        .expect(201);
    let mover = app
        .post(
            "/api/v1/students",
            &district.token,
            json!({"school_id": elsewhere, "class_id": id_of(&class), "name": "Moving Pupil",
                   "student_no": "MOVE-1", "grade": 2}),
        )
        .await
        .expect(201);
    let their_admin = format!("adm.{}", code.to_lowercase());
    app.create_user(&district, "school_admin", &their_admin, Some(&elsewhere))
        .await;
    let their_admin = app.login(&their_admin, PASSWORD).await;
    let transfer = app
        .post(
            &format!("/api/v1/students/{}/transfer", id_of(&mover)),
            &their_admin.token,
            json!({"school_id": p.id, "class_id": p.class_id}),
        )
        .await
        .expect(202);
    ids.insert("transfer", id_of(&transfer));
    let change = app
        .strings(format!(
            "SELECT id AS s FROM tip_recipient_changes WHERE school_id = '{}' ORDER BY id DESC",
            p.id
        ))
        .await;
    if let Some(c) = change.first() {
        ids.insert("recipient_change", c.clone());
    }
    let reports = app
        .get("/api/v1/reports", &report_holder.token)
        .await
        .expect(200);
    if let Some(r) = reports["items"].as_array().and_then(|a| a.first()) {
        ids.insert("report", id_of(r));
    }
    ids
}

/// The id in a created object's answer.
#[track_caller]
pub fn id_of(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {v}"))
        .to_string()
}
