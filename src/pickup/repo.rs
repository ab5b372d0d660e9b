//! Pickup rows and the rules that decide who may take a pupil.

use super::dto::*;
use crate::auth::Caller;
use crate::clock::{school_local_to_utc, to_utc};
use crate::crypto::sha256_hex;
use crate::db::schema::{
    guardianships, handovers, pickup_blocks, pickup_dismissal_modes, pickup_dismissal_times,
    pickup_passes, pickup_persons, pickup_settings, schools, users,
};
use crate::db::AnyConnection;
use crate::error::{ApiError, AppResult, Code};
use crate::org::family::{
    self, authoriser_in_good_standing, guardians, head_teacher, recipients, school_admins, Identity,
};
use crate::org::repo::{SchoolRow, StudentRow};
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use diesel::prelude::*;

pub const DEFAULT_LATE_THRESHOLD_MINUTES: i32 = 15;
const DATE_FORMAT: &str = "%Y-%m-%d";

pub fn date_key(d: NaiveDate) -> String {
    d.format(DATE_FORMAT).to_string()
}

pub fn parse_date_key(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, DATE_FORMAT).unwrap_or_default()
}

pub fn pass_code_hash(code: &str) -> String {
    sha256_hex(format!("safecampus/pickup-pass-code/v1\n{code}").as_bytes())
}

pub fn qr_token_hash(token: &str) -> String {
    sha256_hex(format!("safecampus/pickup-qr/v1\n{token}").as_bytes())
}

pub fn photo_url(person_id: &str) -> String {
    format!("/api/v1/pickup-persons/{person_id}/photo")
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = pickup_persons)]
pub struct PersonRow {
    pub id: String,
    pub student_id: String,
    pub name: String,
    pub relation: String,
    pub phone: String,
    pub id_last4: Option<String>,
    pub photo_type: Option<String>,
    pub valid_from: String,
    pub valid_until: String,
    pub weekdays: i32,
    pub created_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
}

impl PersonRow {
    pub fn valid_on(&self, date: NaiveDate) -> bool {
        let d = date_key(date);
        self.revoked_at.is_none()
            && self.valid_from <= d
            && d <= self.valid_until
            && self.weekdays & Weekday::of(date).bit() != 0
    }

    pub fn photo_url(&self) -> Option<String> {
        self.photo_type.as_ref().map(|_| photo_url(&self.id))
    }

    pub fn into_dto(self) -> PickupPerson {
        PickupPerson {
            photo_url: self.photo_url(),
            valid_from: parse_date_key(&self.valid_from),
            valid_until: parse_date_key(&self.valid_until),
            weekdays: Weekday::from_mask(self.weekdays),
            created_at: to_utc(self.created_at),
            revoked_at: self.revoked_at.map(to_utc),
            id: self.id,
            student_id: self.student_id,
            name: self.name,
            relation: self.relation,
            phone: self.phone,
            id_last4: self.id_last4,
        }
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = pickup_blocks)]
pub struct BlockRow {
    pub id: String,
    pub student_id: String,
    pub name: String,
    pub name_norm: String,
    pub phone: Option<String>,
    pub id_last4: Option<String>,
    pub note: String,
    pub court_order: bool,
    pub created_at: NaiveDateTime,
    pub lifted_at: Option<NaiveDateTime>,
    pub lift_note: Option<String>,
}

impl BlockRow {
    pub fn into_dto(self) -> PickupBlock {
        PickupBlock {
            id: self.id,
            student_id: self.student_id,
            name: self.name,
            id_last4: self.id_last4,
            phone: self.phone,
            note: self.note,
            court_order: self.court_order,
            created_at: to_utc(self.created_at),
            lifted_at: self.lifted_at.map(to_utc),
            lift_note: self.lift_note,
        }
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = pickup_passes)]
pub struct PassRow {
    pub id: String,
    pub student_id: String,
    pub pickup_person_id: Option<String>,
    pub valid_on: String,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
    pub cancelled_at: Option<NaiveDateTime>,
}

impl PassRow {
    pub fn into_dto(self) -> PickupPass {
        PickupPass {
            valid_on: parse_date_key(&self.valid_on),
            expires_at: to_utc(self.expires_at),
            used_at: self.used_at.map(to_utc),
            cancelled_at: self.cancelled_at.map(to_utc),
            pass_id: self.id,
            student_id: self.student_id,
            pickup_person_id: self.pickup_person_id,
        }
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = handovers)]
pub struct HandoverRow {
    pub id: String,
    pub student_id: String,
    pub school_id: String,
    pub class_id: String,
    pub local_date: String,
    pub adult_kind: String,
    pub guardian_user_id: Option<String>,
    pub pickup_person_id: Option<String>,
    pub pass_id: Option<String>,
    pub released_name: String,
    pub released_relation: String,
    pub released_by: String,
    pub at: NaiveDateTime,
    pub confirmed_at: Option<NaiveDateTime>,
    pub disputed_at: Option<NaiveDateTime>,
}

impl HandoverRow {
    /// `photo` says whether the released-to pickup person has a photo.
    pub fn into_dto(self, student_name: String, photo: bool) -> Handover {
        let photo_url = match (&self.pickup_person_id, photo) {
            (Some(p), true) => Some(photo_url(p)),
            _ => None,
        };
        Handover {
            handover_id: self.id,
            student: HandoverStudent {
                id: self.student_id,
                name: student_name,
                class_id: self.class_id,
            },
            released_to: ReleasedToView {
                kind: AdultKind::parse(&self.adult_kind),
                name: self.released_name,
                relation: self.released_relation,
                photo_url,
            },
            at: to_utc(self.at),
            date: parse_date_key(&self.local_date),
            status: "released".into(),
            released_by: self.released_by,
            confirmed_at: self.confirmed_at.map(to_utc),
            disputed_at: self.disputed_at.map(to_utc),
        }
    }
}

/// Handovers as the API shows them, with the pupil's name and photo links.
pub fn handover_views(
    conn: &mut AnyConnection,
    rows: Vec<HandoverRow>,
) -> AppResult<Vec<Handover>> {
    use crate::db::schema::students;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let name: String = students::table
            .find(&r.student_id)
            .select(students::name)
            .first(conn)?;
        let photo = match &r.pickup_person_id {
            Some(p) => pickup_persons::table
                .find(p)
                .select(pickup_persons::photo_type.is_not_null())
                .first::<bool>(conn)?,
            None => false,
        };
        out.push(r.into_dto(name, photo));
    }
    Ok(out)
}

pub fn school_row(conn: &mut AnyConnection, school_id: &str) -> AppResult<SchoolRow> {
    Ok(schools::table
        .find(school_id)
        .select(SchoolRow::as_select())
        .first(conn)?)
}

/// A school's pickup settings: the late threshold and the pass cut-off.
pub fn settings(conn: &mut AnyConnection, school_id: &str) -> AppResult<(i32, Option<String>)> {
    Ok(pickup_settings::table
        .find(school_id)
        .select((
            pickup_settings::late_threshold_minutes,
            pickup_settings::pass_cutoff,
        ))
        .first::<(i32, Option<String>)>(conn)
        .optional()?
        .unwrap_or((DEFAULT_LATE_THRESHOLD_MINUTES, None)))
}

pub type DismissalOverride = (Option<i32>, Option<i32>, String);

pub fn dismissal_overrides(
    conn: &mut AnyConnection,
    school_id: &str,
) -> AppResult<Vec<DismissalOverride>> {
    Ok(pickup_dismissal_times::table
        .filter(pickup_dismissal_times::school_id.eq(school_id))
        .select((
            pickup_dismissal_times::weekday,
            pickup_dismissal_times::grade,
            pickup_dismissal_times::dismissal_time,
        ))
        .order(pickup_dismissal_times::id)
        .load(conn)?)
}

fn hhmm(s: &str) -> NaiveTime {
    NaiveTime::parse_from_str(s, "%H:%M").unwrap_or(NaiveTime::MIN)
}

/// The dismissal time of a grade on a date: an override for that weekday
/// and grade, else for the grade, else for the weekday, else the school's
/// default. `None` on a weekend without an override: no dismissal that day.
pub fn dismissal_time(
    school: &SchoolRow,
    overrides: &[DismissalOverride],
    grade: i32,
    date: NaiveDate,
) -> Option<NaiveTime> {
    let day = Weekday::of(date).number();
    let pick = |w: Option<i32>, g: Option<i32>| {
        overrides
            .iter()
            .find(|(ow, og, _)| *ow == w && *og == g)
            .map(|(_, _, t)| hhmm(t))
    };
    pick(Some(day), Some(grade))
        .or_else(|| {
            // A grade-wide time applies on school days only.
            (day <= 5).then(|| pick(None, Some(grade))).flatten()
        })
        .or_else(|| pick(Some(day), None))
        .or_else(|| (day <= 5).then(|| hhmm(&school.dismissal_time)))
}

/// Whether the school is closed on a date (a holiday it recorded).
pub fn closed_on(conn: &mut AnyConnection, school_id: &str, date: NaiveDate) -> AppResult<bool> {
    use crate::db::schema::pickup_closed_days as closed;
    let n: i64 = closed::table
        .filter(closed::school_id.eq(school_id))
        .filter(closed::local_date.eq(date_key(date)))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// The pupil's way home: handover unless a mode was recorded.
pub fn dismissal_mode(conn: &mut AnyConnection, student_id: &str) -> AppResult<DismissalMode> {
    Ok(pickup_dismissal_modes::table
        .find(student_id)
        .select(pickup_dismissal_modes::mode)
        .first::<String>(conn)
        .optional()?
        .map(|m| DismissalMode::parse(&m))
        .unwrap_or(DismissalMode::Handover))
}

// --- who may take the pupil ----------------------------------------------

/// How the adult at the gate is identified.
pub enum AdultRef {
    Guardian(String),
    PickupPerson(String),
    PassCode(String),
    QrToken(String),
}

/// The adult a pupil may be released to.
#[derive(Clone, Debug)]
pub struct ReleasedTo {
    pub kind: AdultKind,
    pub name: String,
    pub relation: String,
    pub guardian_user_id: Option<String>,
    pub pickup_person_id: Option<String>,
    pub pass_id: Option<String>,
    pub has_photo: bool,
}

/// Why an adult may not take the pupil. The alerts it calls for are sent by
/// `record_refusal`; `error()` is what the gate is answered.
#[derive(Clone, Debug)]
pub struct Refusal {
    pub blocked: bool,
    /// For the audit and the logs: never shown to the person at the gate.
    pub reason: &'static str,
    /// Who the adult claimed or appeared to be, for the family's alert.
    pub adult: String,
}

impl Refusal {
    pub fn error(&self) -> ApiError {
        if self.blocked {
            ApiError::forbidden(
                Code::PickupBlocked,
                "this adult must never be given this pupil; keep the pupil inside and call the school office",
            )
        } else {
            ApiError::forbidden(
                Code::PickupNotAuthorized,
                "this adult is not authorised to take this pupil today",
            )
        }
    }
}

/// The first active block of the pupil naming any of these identities.
pub fn matching_block(
    conn: &mut AnyConnection,
    student_id: &str,
    identities: &[&Identity],
) -> AppResult<Option<BlockRow>> {
    let entry = family::never_release(conn, student_id)?
        .into_iter()
        .find(|b| identities.iter().any(|who| b.names(who)));
    match entry {
        Some(b) => Ok(Some(
            pickup_blocks::table
                .find(&b.id)
                .select(BlockRow::as_select())
                .first(conn)?,
        )),
        None => Ok(None),
    }
}

fn person_of_student(
    conn: &mut AnyConnection,
    student_id: &str,
    person_id: &str,
) -> AppResult<Option<PersonRow>> {
    Ok(pickup_persons::table
        .filter(pickup_persons::id.eq(person_id))
        .filter(pickup_persons::student_id.eq(student_id))
        .select(PersonRow::as_select())
        .first(conn)
        .optional()?)
}

fn person_identity(p: &PersonRow) -> Identity {
    Identity {
        name: Some(p.name.clone()),
        phone: Some(p.phone.clone()),
        id_last4: p.id_last4.clone(),
    }
}

fn released_to_person(p: &PersonRow, pass_id: Option<String>) -> ReleasedTo {
    ReleasedTo {
        kind: if pass_id.is_some() {
            AdultKind::Pass
        } else {
            AdultKind::PickupPerson
        },
        name: p.name.clone(),
        relation: p.relation.clone(),
        guardian_user_id: None,
        pickup_person_id: Some(p.id.clone()),
        pass_id,
        has_photo: p.photo_type.is_some(),
    }
}

/// Decides whether the adult `adult` may take `student` at the school's
/// local time `now_local` (see `crate::clock::school_local`).
///
/// Contract, for every caller (the pickup gate, and the leave module for
/// gate exits of pupils who need handover):
/// - Blocks are checked first, against both the identity the reference
///   resolves to and what the adult `presented`: a match is a refusal with
///   `blocked = true`, whatever else the adult holds (a valid pass too).
/// - Then, by reference: a guardian of the pupil; a pickup person of the
///   pupil not revoked, inside `valid_from..=valid_until` and on one of
///   their weekdays; a pass (code or QR token) of this pupil for today, not
///   used, cancelled or expired, whose named pickup person (if any) is not
///   revoked. Anything else is a refusal with `blocked = false`.
/// - It only reads. `Ok(Ok(_))` does not release: the caller records its
///   handover or exit and calls `consume` in the same transaction (a pass is
///   single use). On `Ok(Err(refusal))` the caller calls `record_refusal`
///   and commits it, then answers `refusal.error()` (403 `pickup_blocked` /
///   `pickup_not_authorized`).
/// - `Err` is bad input (an anonymous pass without `presented.name`: 422)
///   or a database failure.
pub fn authorise_adult(
    conn: &mut AnyConnection,
    student: &StudentRow,
    adult: &AdultRef,
    presented: &Identity,
    now_local: NaiveDateTime,
) -> AppResult<Result<ReleasedTo, Refusal>> {
    let today = now_local.date();
    let shown = presented.name.clone();
    let refuse = |blocked: bool, reason: &'static str, name: Option<String>| Refusal {
        blocked,
        reason,
        adult: name.or_else(|| shown.clone()).unwrap_or_else(|| "?".into()),
    };
    // Resolve who the reference names, judging nothing yet.
    enum Resolved {
        Guardian(String, String, Identity),
        Person(PersonRow),
        Pass(PassRow, Option<PersonRow>),
        Unknown(&'static str),
    }
    let resolved = match adult {
        AdultRef::Guardian(user_id) => {
            let row = guardianships::table
                .inner_join(users::table)
                .filter(guardianships::student_id.eq(&student.id))
                .filter(guardianships::user_id.eq(user_id))
                .filter(users::disabled.eq(false))
                .select((users::display_name, users::phone, guardianships::relation))
                .first::<(String, Option<String>, String)>(conn)
                .optional()?;
            match row {
                Some((name, phone, relation)) => Resolved::Guardian(
                    user_id.clone(),
                    relation,
                    Identity {
                        name: Some(name),
                        phone,
                        id_last4: None,
                    },
                ),
                None => Resolved::Unknown("not_a_guardian"),
            }
        }
        AdultRef::PickupPerson(id) => match person_of_student(conn, &student.id, id)? {
            Some(p) => Resolved::Person(p),
            None => Resolved::Unknown("unknown_pickup_person"),
        },
        AdultRef::PassCode(_) | AdultRef::QrToken(_) => {
            let q = pickup_passes::table
                .select(PassRow::as_select())
                .into_boxed();
            let q = match adult {
                AdultRef::PassCode(code) => q
                    .filter(pickup_passes::code_hash.eq(pass_code_hash(code)))
                    .filter(pickup_passes::student_id.eq(student.id.clone())),
                AdultRef::QrToken(token) => {
                    q.filter(pickup_passes::qr_token_hash.eq(qr_token_hash(token)))
                }
                _ => unreachable!("only passes reach here"),
            };
            // The most recent pass with this code: an older one may share it.
            let pass: Option<PassRow> = q.order(pickup_passes::id.desc()).first(conn).optional()?;
            match pass {
                Some(p) => {
                    let person = match &p.pickup_person_id {
                        Some(pid) => person_of_student(conn, &p.student_id, pid)?,
                        None => None,
                    };
                    Resolved::Pass(p, person)
                }
                None => Resolved::Unknown("unknown_pass"),
            }
        }
    };

    let resolved_identity = match &resolved {
        Resolved::Guardian(_, _, id) => id.clone(),
        Resolved::Person(p) => person_identity(p),
        Resolved::Pass(pass, Some(p)) if pass.student_id == student.id => person_identity(p),
        Resolved::Pass(..) | Resolved::Unknown(_) => Identity::default(),
    };
    if matching_block(conn, &student.id, &[&resolved_identity, presented])?.is_some() {
        return Ok(Err(refuse(true, "blocked", resolved_identity.name)));
    }

    let released = match resolved {
        Resolved::Unknown(reason) => return Ok(Err(refuse(false, reason, None))),
        Resolved::Guardian(user_id, relation, id) => ReleasedTo {
            kind: AdultKind::Guardian,
            name: id.name.unwrap_or_default(),
            relation,
            guardian_user_id: Some(user_id),
            pickup_person_id: None,
            pass_id: None,
            has_photo: false,
        },
        Resolved::Person(p) => {
            if p.revoked_at.is_some() {
                return Ok(Err(refuse(false, "revoked", Some(p.name))));
            }
            if !p.valid_on(today) {
                return Ok(Err(refuse(false, "not_valid_today", Some(p.name))));
            }
            let author: String = pickup_persons::table
                .find(&p.id)
                .select(pickup_persons::created_by)
                .first(conn)?;
            if !authoriser_in_good_standing(conn, student, &author)? {
                return Ok(Err(refuse(
                    false,
                    "authoriser_no_longer_trusted",
                    Some(p.name),
                )));
            }
            released_to_person(&p, None)
        }
        Resolved::Pass(pass, person) => {
            if pass.student_id != student.id {
                // Another family's adult: their name stays out of this family's alert.
                return Ok(Err(refuse(false, "another_students_pass", None)));
            }
            let name = person.as_ref().map(|p| p.name.clone());
            let reason = if pass.cancelled_at.is_some() {
                Some("pass_cancelled")
            } else if pass.used_at.is_some() {
                Some("pass_used")
            } else if pass.valid_on != date_key(today) {
                Some("pass_not_for_today")
            } else if person.as_ref().is_some_and(|p| p.revoked_at.is_some()) {
                Some("revoked")
            } else {
                let issuer: String = pickup_passes::table
                    .find(&pass.id)
                    .select(pickup_passes::issued_by)
                    .first(conn)?;
                (!authoriser_in_good_standing(conn, student, &issuer)?)
                    .then_some("authoriser_no_longer_trusted")
            };
            if let Some(reason) = reason {
                return Ok(Err(refuse(false, reason, name)));
            }
            match person {
                Some(p) => released_to_person(&p, Some(pass.id)),
                None => ReleasedTo {
                    kind: AdultKind::Pass,
                    name: presented.name.clone().ok_or_else(|| {
                        ApiError::invalid(
                            "presented.name",
                            "record the name on the ID of whoever holds an open pass",
                        )
                    })?,
                    relation: "pass holder".into(),
                    guardian_user_id: None,
                    pickup_person_id: None,
                    pass_id: Some(pass.id),
                    has_photo: false,
                },
            }
        }
    };
    Ok(Ok(released))
}

/// Marks a released-to adult's pass used (single use). Part of a release.
pub fn consume(
    conn: &mut AnyConnection,
    released: &ReleasedTo,
    now: NaiveDateTime,
) -> AppResult<()> {
    if let Some(pass_id) = &released.pass_id {
        let n = diesel::update(
            pickup_passes::table
                .filter(pickup_passes::id.eq(pass_id))
                .filter(pickup_passes::used_at.is_null())
                .filter(pickup_passes::cancelled_at.is_null()),
        )
        .set(pickup_passes::used_at.eq(now))
        .execute(conn)?;
        if n != 1 {
            // A concurrent release used it first: this one must not stand.
            return Err(ApiError::conflict(
                Code::PassAlreadyUsed,
                "this pass was just used",
            ));
        }
    }
    Ok(())
}

/// Alerts and audits a refused pickup, in the caller's transaction (which
/// must commit): every guardian and the head teacher; for a blocked adult
/// the school admins as well.
pub fn record_refusal(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    student: &StudentRow,
    refusal: &Refusal,
    local_time: &str,
) -> AppResult<()> {
    use crate::audit::{self, AuditEvent};
    use crate::notify::{self, Category, Template};
    let guardians = guardians(conn, &student.id)?;
    let staff = head_teacher(conn, &student.class_id)?;
    let admins = if refusal.blocked {
        school_admins(conn, &student.school_id)?
    } else {
        Vec::new()
    };
    let template = if refusal.blocked {
        Template::PickupBlockedAttempt
    } else {
        Template::PickupRefused
    };
    let data = serde_json::json!({
        "student": student.name,
        "student_id": student.id,
        "adult": refusal.adult,
        "time": local_time,
    });
    notify::send(
        conn,
        now,
        &recipients(&[&guardians, &staff, &admins]),
        template,
        data,
        Category::Pickup,
    )?;
    let action = if refusal.blocked {
        "pickup.blocked_attempt"
    } else {
        "pickup.refused"
    };
    audit::record(
        conn,
        now,
        AuditEvent::by(caller, action, "student", Some(&student.id))
            .in_school(Some(&student.school_id)),
    )?;
    tracing::warn!(
        reason = refusal.reason,
        blocked = refusal.blocked,
        "pickup refused"
    );
    Ok(())
}

/// The UTC end of a school day at the school.
pub fn end_of_day_utc(date: NaiveDate, timezone: &str) -> NaiveDateTime {
    let next = date.succ_opt().unwrap_or(date).and_time(NaiveTime::MIN);
    school_local_to_utc(next, timezone)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn school() -> SchoolRow {
        SchoolRow {
            id: "s".into(),
            district_id: "d".into(),
            name: "S".into(),
            code: "S-1".into(),
            kind: "primary".into(),
            timezone: "Asia/Shanghai".into(),
            dismissal_time: "16:30".into(),
            created_at: NaiveDateTime::default(),
        }
    }

    #[test]
    fn the_most_specific_dismissal_time_wins_and_weekends_have_none() {
        let monday = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let wednesday = NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
        let saturday = NaiveDate::from_ymd_opt(2026, 12, 5).unwrap();
        let o: Vec<DismissalOverride> = vec![
            (Some(3), None, "14:00".into()),
            (None, Some(1), "15:30".into()),
            (Some(3), Some(1), "13:00".into()),
            (Some(6), None, "11:30".into()),
        ];
        let t = |g, d| dismissal_time(&school(), &o, g, d).map(|t| t.format("%H:%M").to_string());
        assert_eq!(t(1, monday).as_deref(), Some("15:30"));
        assert_eq!(t(2, monday).as_deref(), Some("16:30"));
        assert_eq!(t(1, wednesday).as_deref(), Some("13:00"));
        assert_eq!(t(2, wednesday).as_deref(), Some("14:00"));
        assert_eq!(t(2, saturday).as_deref(), Some("11:30"));
        assert_eq!(t(2, saturday.succ_opt().unwrap()), None);
    }
}
