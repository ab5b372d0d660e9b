//! Guardians' consents (PIPL Art. 28 and 31): for each use of a pupil's data
//! beyond the school's legal duties, the decision in force (the last one a
//! guardian made, with the policy version, channel and time). The one place
//! every domain asks before such a use.
//!
//! The database keeps no date of birth, and this adds none: a pupil is taken
//! as under 14 by grade (`needs_guardian_consent`). Pupils of 14 and over
//! decide for themselves under PIPL; their guardians' consent is not asked.

use crate::db::schema::consents;
use crate::db::AnyConnection;
use crate::error::{ApiError, AppResult, Code};
use crate::org::model::StudentRow;
use chrono::NaiveDateTime;
use diesel::prelude::*;

crate::text_enum!(
    /// A use of a pupil's data that needs a guardian's consent.
    pub enum Purpose {
        /// Photos of the adults who pick the pupil up, kept and shown at the gate.
        PickupPhotos = "pickup_photos",
        /// Contact channels beyond the school's own (e.g. a class chat).
        OptionalContact = "optional_contact",
        /// The apps' push notifications about the pupil, through the operator's gateway.
        PushNotifications = "push_notifications",
    }
);

crate::text_enum!(
    /// Where a guardian gave or withdrew a consent.
    pub enum ConsentChannel {
        App = "app",
        Paper = "paper",
        Web = "web",
    }
);

/// The first grade whose pupils are taken as 14 or older: Chinese pupils
/// start grade 1 at 6, so a pupil of grade 8 may still be 13. Rounded up, a
/// doubt asks for consent.
pub const GRADE_OF_FOURTEEN: i32 = crate::notify::GRADE_OF_FOURTEEN;

/// Whether a pupil's guardians decide on these uses (under 14, by grade).
pub fn needs_guardian_consent(student: &StudentRow) -> bool {
    student.grade < GRADE_OF_FOURTEEN
}

/// A decision in force: (purpose, given, guardian, policy version, channel, when).
pub type ConsentRow = (String, bool, String, String, String, NaiveDateTime);

/// The decisions in force for a pupil, one per purpose decided.
pub fn decisions(conn: &mut AnyConnection, student_id: &str) -> AppResult<Vec<ConsentRow>> {
    Ok(consents::table
        .filter(consents::student_id.eq(student_id))
        .select((
            consents::purpose,
            consents::given,
            consents::guardian_id,
            consents::policy_version,
            consents::channel,
            consents::decided_at,
        ))
        .order(consents::purpose)
        .load(conn)?)
}

/// Whether the pupil's data may be used for `purpose`: always for a pupil
/// of 14 or more, otherwise only with a guardian's consent in force.
pub fn allows(conn: &mut AnyConnection, student: &StudentRow, purpose: Purpose) -> AppResult<bool> {
    if !needs_guardian_consent(student) {
        return Ok(true);
    }
    let given: Option<bool> = consents::table
        .filter(consents::student_id.eq(&student.id))
        .filter(consents::purpose.eq(purpose.as_str()))
        .select(consents::given)
        .first(conn)
        .optional()?;
    Ok(given == Some(true))
}

/// 403 `consent_required`, naming the purpose, unless `allows`.
pub fn require(conn: &mut AnyConnection, student: &StudentRow, purpose: Purpose) -> AppResult<()> {
    if allows(conn, student, purpose)? {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            Code::ConsentRequired,
            format!(
                "no guardian's consent to {purpose} for this pupil is in force (missing or withdrawn); a guardian gives it at POST /api/v1/students/{{id}}/consents"
            ),
        )
        .with_field(purpose.as_str()))
    }
}

/// A guardian's decision on one purpose.
pub struct Decision<'a> {
    pub purpose: Purpose,
    pub given: bool,
    pub guardian_id: &'a str,
    pub policy_version: &'a str,
    pub channel: ConsentChannel,
}

/// Records a guardian's decision, replacing the one in force.
pub fn decide(
    conn: &mut AnyConnection,
    student_id: &str,
    d: &Decision<'_>,
    at: NaiveDateTime,
) -> AppResult<()> {
    diesel::delete(
        consents::table
            .filter(consents::student_id.eq(student_id))
            .filter(consents::purpose.eq(d.purpose.as_str())),
    )
    .execute(conn)?;
    diesel::insert_into(consents::table)
        .values((
            consents::student_id.eq(student_id),
            consents::purpose.eq(d.purpose.as_str()),
            consents::given.eq(d.given),
            consents::guardian_id.eq(d.guardian_id),
            consents::policy_version.eq(d.policy_version),
            consents::channel.eq(d.channel.as_str()),
            consents::decided_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}
