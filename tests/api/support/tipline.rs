//! The tip line's people and reports over HTTP: recipients with keys, the
//! school mailboxes they read, and sealed reports with a solved proof of work.

use super::tipline_client::{new_key, seal_text, solve, PrivateKey};
use super::{Session, TestApp, World, PASSWORD};
use serde_json::{json, Value};

/// A recipient: signed in, with a registered key whose private half the
/// test holds.
pub struct Holder {
    pub s: Session,
    pub key_id: String,
    pub sk: PrivateKey,
}

/// Registers a fresh key for the signed-in user.
pub async fn register_key(app: &TestApp, s: Session) -> Holder {
    let (sk, public_key) = new_key();
    let body = app
        .send(
            "PUT",
            "/api/v1/me/encryption-key",
            Some(&s.token),
            Some(
                &json!({"public_key": public_key, "key_backup": "opaque-backup",
                         "password": PASSWORD}),
            ),
            &[],
        )
        .await
        .expect(200);
    Holder {
        s,
        key_id: body["key_id"].as_str().unwrap().to_string(),
        sk,
    }
}

/// Makes these users the school's mailbox recipients: the admin proposes,
/// a bureau officer in post for more than a week approves.
pub async fn designate(app: &TestApp, admin: &Session, school_id: &str, user_ids: &[&str]) {
    let change = app
        .post(
            &format!("/api/v1/schools/{school_id}/mailbox/recipient-changes"),
            &admin.token,
            json!({ "user_ids": user_ids }),
        )
        .await
        .expect(201);
    assert_eq!(change["status"], "pending");
    approve_as_senior_officer(app, change["id"].as_str().unwrap()).await;
}

/// The district's vetting officer approves a recipient change as they would
/// once in post for a week: the clock moves 8 days on for the approval only,
/// and back (so the rest of the test keeps its school day).
pub async fn approve_as_senior_officer(app: &TestApp, change_id: &str) {
    app.vetting_officer().await;
    let now = app.now();
    app.clock.set(now + chrono::Duration::days(8));
    let officer = app.login("vetting.officer", PASSWORD).await;
    let approved = app
        .post(
            &format!("/api/v1/recipient-changes/{change_id}/approve"),
            &officer.token,
            json!({}),
        )
        .await;
    app.clock.set(now);
    assert_eq!(approved.expect(200)["status"], "approved");
}

/// The world, a bureau officer, and recipients with keys: X's admin and
/// counsellor, Y's admin.
pub struct TipWorld {
    pub w: World,
    pub bureau: Holder,
    pub x_admin: Holder,
    pub x_counselor: Holder,
    pub y_admin: Holder,
}

pub async fn tip_world(app: &TestApp) -> TipWorld {
    let w = app.world().await;
    app.create_user(&w.district_admin, "bureau_officer", "bureau.zhao", None)
        .await;
    app.create_user(&w.x.admin, "counselor", "sch-x.counselor", None)
        .await;
    let bureau = register_key(app, app.login("bureau.zhao", PASSWORD).await).await;
    let x_admin = register_key(app, w.x.admin.clone()).await;
    let x_counselor = register_key(app, app.login("sch-x.counselor", PASSWORD).await).await;
    // The principal names the counsellor a safeguarding handler (concerns,
    // cases, chronologies).
    app.name_lead(&w.x.admin, &w.x.id, &x_counselor.s.user_id)
        .await;
    let y_admin = register_key(app, w.y.admin.clone()).await;
    designate(
        app,
        &w.x.admin,
        &w.x.id,
        &[&x_admin.s.user_id, &x_counselor.s.user_id],
    )
    .await;
    designate(app, &w.y.admin, &w.y.id, &[&y_admin.s.user_id]).await;
    TipWorld {
        w,
        bureau,
        x_admin,
        x_counselor,
        y_admin,
    }
}

impl TipWorld {
    /// Signs the key holders in again after the clock moved past the access
    /// tokens' life.
    pub async fn relogin(&mut self, app: &TestApp) {
        for h in [
            &mut self.bureau,
            &mut self.x_admin,
            &mut self.x_counselor,
            &mut self.y_admin,
        ] {
            h.s = app.relog(&h.s).await;
        }
    }
}

/// A fresh challenge, solved.
pub async fn solve_pow(app: &TestApp) -> Value {
    solve_challenge(app, "/api/v1/reports/challenge").await
}

/// A fresh challenge for one school, solved.
pub async fn solve_pow_for(app: &TestApp, school_code: &str) -> Value {
    solve_challenge(
        app,
        &format!("/api/v1/reports/challenge?school_code={school_code}"),
    )
    .await
}

async fn solve_challenge(app: &TestApp, path: &str) -> Value {
    let c = app.post_anon(path, json!({})).await.expect(201);
    let challenge = c["challenge"].as_str().unwrap().to_string();
    let difficulty = c["difficulty"].as_u64().unwrap() as u32;
    let nonce = solve(&challenge, difficulty);
    json!({"challenge": challenge, "nonce": nonce})
}

/// A school's public mailbox: the keys a reporter seals to.
pub async fn mailbox(app: &TestApp, code: &str) -> Value {
    app.send("GET", &format!("/api/v1/mailboxes/{code}"), None, None, &[])
        .await
        .expect(200)
}

/// Seals and submits a report to a school (to the district's keys when it
/// concerns staff); returns the receipt.
pub async fn submit_sealed(
    app: &TestApp,
    code: &str,
    text: &str,
    urgency: &str,
    concerns_staff: bool,
) -> String {
    let mb = mailbox(app, code).await;
    let keys = if concerns_staff {
        &mb["district_keys"]
    } else {
        &mb["recipient_keys"]
    };
    let body = json!({
        "school_code": code, "category": "sexual_abuse", "urgency": urgency,
        "concerns_staff": concerns_staff, "envelope": seal_text(keys, text), "pow": solve_pow(app).await,
    });
    let r = app.post_anon("/api/v1/reports", body).await.expect(201);
    assert_eq!(r["status"], "received");
    release_windows(app).await;
    r["receipt"].as_str().unwrap().to_string()
}

/// Releases what reporters sent so far as if its window had ended (staff
/// see it, readers are alerted): the clock moves past the longest window for
/// the release only, and back, so the rest of the test keeps its time.
pub async fn release_windows(app: &TestApp) -> usize {
    let now = app.now();
    app.clock.set(now + chrono::Duration::minutes(61));
    let released = app.run_tipline_windows().await;
    app.clock.set(now);
    released
}
