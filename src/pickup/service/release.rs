//! The release rule: may this adult take this pupil today. The one rule
//! that crosses from pickup, to the gate (a leave's exit).

use crate::auth::Caller;
use crate::db::AnyConnection;
use crate::error::{ApiError, AppResult, Code};
use crate::org::family::{self, authoriser_in_good_standing, Identity, NeverRelease};
use crate::org::model::StudentRow;
use crate::pickup::dto::AdultKind;
use crate::pickup::model::{BlockRow, PassRow, PersonRow};
use crate::pickup::repo;
use chrono::NaiveDateTime;

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
    /// A never-release entry naming a guardian awaits the school admin: the
    /// pupil is held until the admin confirms or rejects it.
    pub held: bool,
    /// For the audit and the logs: never shown to the person at the gate.
    pub reason: &'static str,
    /// Who the adult claimed or appeared to be, for the family's alert.
    pub adult: String,
}

impl Refusal {
    pub fn error(&self) -> ApiError {
        if self.held {
            ApiError::conflict(Code::PickupHold, "hold: call the principal")
        } else if self.blocked {
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
pub(in crate::pickup) fn matching_block(
    conn: &mut AnyConnection,
    student_id: &str,
    identities: &[&Identity],
) -> AppResult<Option<BlockRow>> {
    let blocks = family::never_release(conn, student_id)?;
    match naming(&blocks, identities) {
        Some(b) => repo::block(conn, &b.id),
        None => Ok(None),
    }
}

/// The first entry naming any of these identities.
fn naming<'a>(entries: &'a [NeverRelease], identities: &[&Identity]) -> Option<&'a NeverRelease> {
    entries
        .iter()
        .find(|b| identities.iter().any(|who| b.names(who)))
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

/// Who a reference names, judged on nothing yet.
enum Resolved {
    Guardian(String, String, Identity),
    Person(PersonRow),
    Pass(PassRow, Option<PersonRow>),
    Unknown(&'static str),
}

fn resolve(
    conn: &mut AnyConnection,
    student: &StudentRow,
    adult: &AdultRef,
) -> AppResult<Resolved> {
    let pass = match adult {
        AdultRef::Guardian(user_id) => {
            return Ok(match repo::guardian_of(conn, &student.id, user_id)? {
                Some((name, phone, relation)) => {
                    let who = Identity {
                        name: Some(name),
                        phone,
                        id_last4: None,
                    };
                    Resolved::Guardian(user_id.clone(), relation, who)
                }
                None => Resolved::Unknown("not_a_guardian"),
            })
        }
        AdultRef::PickupPerson(id) => {
            return Ok(match repo::person_of_student(conn, &student.id, id)? {
                Some(p) => Resolved::Person(p),
                None => Resolved::Unknown("unknown_pickup_person"),
            })
        }
        AdultRef::PassCode(code) => {
            repo::pass_by_code(conn, &student.id, &repo::pass_code_hash(code))?
        }
        AdultRef::QrToken(token) => repo::pass_by_qr(conn, &repo::qr_token_hash(token))?,
    };
    Ok(match pass {
        Some(p) => {
            let person = match &p.pickup_person_id {
                Some(pid) => repo::person_of_student(conn, &p.student_id, pid)?,
                None => None,
            };
            Resolved::Pass(p, person)
        }
        None => Resolved::Unknown("unknown_pass"),
    })
}

/// Decides whether the adult `adult` may take `student` at the school's
/// local time `now_local` (see `crate::clock::school_local`).
///
/// Contract, for every caller (the pickup gate, and the leave module for
/// gate exits of pupils who need handover):
/// - Blocks are checked first, against both the identity the reference
///   resolves to and what the adult `presented`: a match is a refusal with
///   `blocked = true`, whatever else the adult holds (a valid pass too).
///   An entry still pending (it names a guardian and awaits the school
///   admin) matched the same way is a refusal with `held = true`.
/// - Then, by reference: a guardian of the pupil; a pickup person of the
///   pupil not revoked, inside `valid_from..=valid_until` and on one of
///   their weekdays; a pass (code or QR token) of this pupil for today, not
///   used, cancelled or expired, whose named pickup person (if any) is not
///   revoked. Anything else is a refusal with `blocked = false`.
/// - It only reads. `Ok(Ok(_))` does not release: the caller records its
///   handover or exit and calls `consume` in the same transaction (a pass is
///   single use). On `Ok(Err(refusal))` the caller calls `record_refusal`
///   and commits it, then answers `refusal.error()` (403 `pickup_blocked` /
///   `pickup_not_authorized`, 409 `pickup_hold`).
/// - `Err` is bad input (an anonymous pass without `presented.name`: 422)
///   or a database failure.
pub fn authorise_adult(
    conn: &mut AnyConnection,
    student: &StudentRow,
    adult: &AdultRef,
    presented: &Identity,
    now_local: NaiveDateTime,
) -> AppResult<Result<ReleasedTo, Refusal>> {
    let entries = family::blocks_and_holds(conn, &student.id)?;
    authorise_among(conn, student, adult, presented, now_local, &entries)
}

/// `authorise_adult`, for a caller that has read the pupil's entries
/// (`family::blocks_and_holds`) and needs them again.
pub(in crate::pickup) fn authorise_among(
    conn: &mut AnyConnection,
    student: &StudentRow,
    adult: &AdultRef,
    presented: &Identity,
    now_local: NaiveDateTime,
    (blocks, holds): &(Vec<NeverRelease>, Vec<NeverRelease>),
) -> AppResult<Result<ReleasedTo, Refusal>> {
    let today = now_local.date();
    let shown = presented.name.clone();
    let refuse = |blocked: bool, reason: &'static str, name: Option<String>| Refusal {
        blocked,
        held: false,
        reason,
        adult: name.or_else(|| shown.clone()).unwrap_or_else(|| "?".into()),
    };
    let resolved = resolve(conn, student, adult)?;
    let resolved_identity = match &resolved {
        Resolved::Guardian(_, _, id) => id.clone(),
        Resolved::Person(p) => person_identity(p),
        Resolved::Pass(pass, Some(p)) if pass.student_id == student.id => person_identity(p),
        Resolved::Pass(..) | Resolved::Unknown(_) => Identity::default(),
    };
    let identities = [&resolved_identity, presented];
    if naming(blocks, &identities).is_some() {
        return Ok(Err(refuse(true, "blocked", resolved_identity.name)));
    }
    if naming(holds, &identities).is_some() {
        return Ok(Err(Refusal {
            held: true,
            ..refuse(false, "held_pending_block", resolved_identity.name)
        }));
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
            let author = repo::person_created_by(conn, &p.id)?;
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
            } else if pass.valid_on.date() != today {
                Some("pass_not_for_today")
            } else if person.as_ref().is_some_and(|p| p.revoked_at.is_some()) {
                Some("revoked")
            } else {
                let issuer = repo::pass_issued_by(conn, &pass.id)?;
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
        if repo::use_pass(conn, pass_id, now)? != 1 {
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
    let guardians = family::guardians(conn, &student.id)?;
    let staff = family::head_teacher(conn, &student.class_id)?;
    let admins = if refusal.blocked || refusal.held {
        family::school_admins(conn, &student.school_id)?
    } else {
        Vec::new()
    };
    let template = if refusal.held {
        Template::PickupHeld
    } else if refusal.blocked {
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
        &family::recipients(&[&guardians, &staff, &admins]),
        template,
        data,
        Category::Pickup,
    )?;
    let action = if refusal.held {
        "pickup.held_attempt"
    } else if refusal.blocked {
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
        held = refusal.held,
        "pickup refused"
    );
    Ok(())
}
