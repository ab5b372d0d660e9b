//! The audit log: append-only, each event linked to the one before by an
//! HMAC under a key kept outside the database, so a changed, removed or
//! inserted row shows even to someone who can write to the database. It records who did what to which
//! object and when; never request bodies, tokens or network addresses.

mod chain;
mod dto;
mod model;
mod repo;
mod routes;
mod service;

pub use chain::GENESIS;
pub use dto::{AuditHead, Verification};
pub use repo::{actions_on, count_by_actor_since};
pub use service::{record, record_change, seal_with_key, use_key, verify};

use crate::auth::Caller;

pub struct AuditEvent<'a> {
    pub actor_id: Option<&'a str>,
    pub actor_role: Option<&'a str>,
    pub action: &'a str,
    pub target_type: &'a str,
    pub target_id: Option<&'a str>,
    pub school_id: Option<&'a str>,
}

impl<'a> AuditEvent<'a> {
    /// Something a signed-in user did.
    pub fn by(
        caller: &'a Caller,
        action: &'a str,
        target_type: &'a str,
        target_id: Option<&'a str>,
    ) -> Self {
        AuditEvent {
            actor_id: Some(&caller.user_id),
            actor_role: Some(caller.role.as_str()),
            action,
            target_type,
            target_id,
            school_id: caller.school_id.as_deref(),
        }
    }

    /// Something with no signed-in actor (an anonymous request, a worker).
    pub fn system(action: &'a str, target_type: &'a str, target_id: Option<&'a str>) -> Self {
        AuditEvent {
            actor_id: None,
            actor_role: None,
            action,
            target_type,
            target_id,
            school_id: None,
        }
    }

    pub fn in_school(mut self, school_id: Option<&'a str>) -> Self {
        self.school_id = school_id;
        self
    }
}

crate::text_enum!(
    /// The parts of a pupil's record whose reads by staff are audited (Art. 36
    /// of the minors' online protection rules: every staff access recorded).
    pub enum PupilRecord {
        Detail = "pupil.detail_read",
        Attendance = "pupil.attendance_read",
        Leave = "pupil.leave_read",
        Handovers = "pupil.handovers_read",
        Concern = "pupil.concern_read",
        GuardianContact = "pupil.guardian_contact_read",
        Consents = "pupil.consents_read",
    }
);

/// Records that a member of staff (a school's or the district's) read a
/// part of a pupil's record: who, which pupil, what, when. The family and the
/// pupil reading their own record are not staff and are not recorded. One
/// helper for every domain, in the reader's transaction.
pub fn record_pupil_read(
    conn: &mut crate::db::AnyConnection,
    now: chrono::NaiveDateTime,
    caller: &Caller,
    what: PupilRecord,
    student_id: &str,
    school_id: &str,
) -> crate::error::AppResult<()> {
    if !(caller.role.is_school_staff() || caller.role.is_district()) {
        return Ok(());
    }
    record(
        conn,
        now,
        AuditEvent::by(caller, what.as_str(), "student", Some(student_id))
            .in_school(Some(school_id)),
    )
}

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(routes::verify_chain)
        .service(routes::audit_head);
}
