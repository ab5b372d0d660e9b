//! Consents as guardians and the school admin use them over HTTP: read
//! where each purpose stands, give or withdraw. Every read by staff and
//! every decision is audited.

use crate::audit::{self, AuditEvent, PupilRecord};
use crate::auth::{Caller, Role};
use crate::clock::to_utc;
use crate::db::AnyConnection;
use crate::error::{ApiError, AppResult};
use crate::org::consent::{self, ConsentChannel, Decision, Purpose};
use crate::org::dto::{ConsentState, Consents, NewConsent};
use crate::org::family;
use crate::org::model::StudentRow;
use chrono::NaiveDateTime;

/// The pupil, for its guardians (not barred) and its school's admin; 404
/// for anyone else.
pub fn consent_scope(
    conn: &mut AnyConnection,
    caller: &Caller,
    student_id: &str,
) -> AppResult<StudentRow> {
    let (student, rel) = family::student_for_family_or_school(conn, caller, student_id)?;
    if rel.guardian || rel.school_admin {
        Ok(student)
    } else {
        Err(ApiError::not_found("student"))
    }
}

fn view(conn: &mut AnyConnection, student: &StudentRow) -> AppResult<Consents> {
    let decided = consent::decisions(conn, &student.id)?;
    let needed = consent::needs_guardian_consent(student);
    let purposes = Purpose::ALL
        .iter()
        .map(|&p| {
            let d = decided.iter().find(|d| d.0 == p.as_str());
            ConsentState {
                purpose: p,
                allowed: !needed || d.is_some_and(|d| d.1),
                given: d.map(|d| d.1),
                decided_by: d.map(|d| d.2.clone()),
                policy_version: d.map(|d| d.3.clone()),
                channel: d.and_then(|d| ConsentChannel::parse(&d.4)),
                decided_at: d.map(|d| to_utc(d.5)),
            }
        })
        .collect();
    Ok(Consents {
        student_id: student.id.clone(),
        guardian_consent_needed: needed,
        purposes,
    })
}

/// Where each purpose stands; a read by the school admin is audited.
pub fn consents(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    student_id: &str,
) -> AppResult<Consents> {
    let student = consent_scope(conn, caller, student_id)?;
    audit::record_pupil_read(
        conn,
        now,
        caller,
        PupilRecord::Consents,
        &student.id,
        &student.school_id,
    )?;
    view(conn, &student)
}

/// A guardian gives or withdraws consent to one purpose; audited with the
/// decision, the policy version and the channel.
pub fn decide(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    student_id: &str,
    body: AppResult<NewConsent>,
) -> AppResult<Consents> {
    let student = &consent_scope(conn, caller, student_id)?;
    if caller.role != Role::Parent {
        return Err(ApiError::not_found("student"));
    }
    let b = body?;
    let d = Decision {
        purpose: b.purpose,
        given: b.given,
        guardian_id: &caller.user_id,
        policy_version: b.policy_version.as_str(),
        channel: b.channel,
    };
    consent::decide(conn, &student.id, &d, now)?;
    let verb = if b.given { "given" } else { "withdrawn" };
    let action = format!(
        "consent.{verb} purpose={} policy={} channel={}",
        b.purpose,
        b.policy_version.as_str(),
        b.channel
    );
    audit::record(
        conn,
        now,
        AuditEvent::by(caller, &action, "student", Some(&student.id))
            .in_school(Some(&student.school_id)),
    )?;
    view(conn, student)
}
