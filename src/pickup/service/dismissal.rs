//! Dismissal: how each pupil goes home, the class board at the gate, and
//! the principal's end-of-day summary.

use super::{dismissal_time, forbidden, handover_view, Now};
use crate::attendance::Presence;
use crate::audit::{self, AuditEvent};
use crate::auth::Caller;
use crate::clock::school_local;
use crate::db::AnyConnection;
use crate::error::{AppResult, Code};
use crate::notify::{self, Category, Template};
use crate::org::family;
use crate::pickup::dto::*;
use crate::pickup::model::{HandoverRow, PersonRow};
use crate::pickup::repo;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use std::collections::HashMap;

/// What the board knows of a pupil's day.
#[derive(Clone, Copy, Debug)]
pub struct DayFacts {
    /// Released at the gate that day (a handover exists).
    pub handed_over: bool,
    /// From roll call and leave (`crate::attendance::presence`).
    pub presence: Presence,
    /// The recorded way home; handover when none was recorded.
    pub mode: DismissalMode,
}

/// A pupil's state on the dismissal board. A release stands above all
/// (a pupil on leave who was handed over earlier is gone); then leave and
/// absence, since a pupil not at school waits for no one; then the way home.
pub fn board_state(f: DayFacts) -> BoardState {
    if f.handed_over {
        return BoardState::Released;
    }
    match (f.presence, f.mode) {
        (Presence::OnLeave, _) => BoardState::OnLeave,
        (Presence::Absent, _) => BoardState::Absent,
        (Presence::Present, DismissalMode::Alone) => BoardState::Alone,
        (Presence::Present, DismissalMode::Bus) => BoardState::Bus,
        (Presence::Present, DismissalMode::Handover) => BoardState::Waiting,
    }
}

/// Sets how a pupil goes home: the pupil in scope (404), a guardian or the
/// school admin (403), then the body. Going home alone for a pupil who needs
/// handover takes the school admin. The family is told.
pub fn set_mode(
    conn: &mut AnyConnection,
    now: Now,
    caller: &Caller,
    student_id: &str,
    body: AppResult<DismissalModeBody>,
) -> AppResult<DismissalModeView> {
    let (student, rel) = family::student_for_family_or_school(conn, caller, student_id)?;
    if !(rel.guardian || rel.school_admin) {
        return Err(forbidden(
            Code::ForbiddenRole,
            "only a guardian or the school admin may set how a pupil goes home",
        ));
    }
    let mode = body?.mode;
    let needs_approval = student.handover_required && mode == DismissalMode::Alone;
    if needs_approval && !rel.school_admin {
        return Err(forbidden(
            Code::SchoolApprovalRequired,
            "this pupil needs handover: going home alone needs the school admin's approval",
        ));
    }
    let approved_by = needs_approval.then(|| caller.user_id.clone());
    repo::replace_mode(
        conn,
        &student.id,
        mode.as_str(),
        &caller.user_id,
        approved_by.as_deref(),
        now.db,
    )?;
    let guardians = family::guardians(conn, &student.id)?;
    notify::send(
        conn,
        now.db,
        &guardians,
        Template::DismissalModeChanged,
        serde_json::json!({"student": student.name, "student_id": student.id,
                           "mode": mode.as_str()}),
        Category::Pickup,
    )?;
    audit::record(
        conn,
        now.db,
        AuditEvent::by(
            caller,
            "pickup.dismissal_mode",
            "student",
            Some(&student.id),
        )
        .in_school(Some(&student.school_id)),
    )?;
    Ok(DismissalModeView {
        student_id: student.id,
        mode,
        approved_by,
    })
}

/// The day of these pupils, read once for a board or a summary.
struct Day {
    handovers: HashMap<String, HandoverRow>,
    modes: HashMap<String, DismissalMode>,
    presence: HashMap<String, Presence>,
}

impl Day {
    fn load(
        conn: &mut AnyConnection,
        student_ids: &[String],
        date: NaiveDate,
        at: DateTime<Utc>,
    ) -> AppResult<Day> {
        let mut day = Day {
            handovers: HashMap::new(),
            modes: HashMap::new(),
            presence: HashMap::new(),
        };
        for id in student_ids {
            let p = crate::attendance::presence(conn, id, at)?;
            day.presence.insert(id.clone(), p);
        }
        for chunk in student_ids.chunks(500) {
            for r in repo::handovers_on(conn, chunk, date)? {
                day.handovers.insert(r.student_id.clone(), r);
            }
            for (id, mode) in repo::modes_of(conn, chunk)? {
                let mode = DismissalMode::parse(&mode).unwrap_or(DismissalMode::Handover);
                day.modes.insert(id, mode);
            }
        }
        Ok(day)
    }

    fn state_of(&self, student_id: &str) -> BoardState {
        board_state(DayFacts {
            handed_over: self.handovers.contains_key(student_id),
            presence: self
                .presence
                .get(student_id)
                .copied()
                .unwrap_or(Presence::Present),
            mode: self
                .modes
                .get(student_id)
                .copied()
                .unwrap_or(DismissalMode::Handover),
        })
    }
}

/// The school day asked for or today at the school, and the moment a board
/// of it describes: now for today, midday otherwise.
fn board_day(
    wanted: Option<NaiveDate>,
    local_now: NaiveDateTime,
    now_utc: DateTime<Utc>,
    timezone: &str,
) -> (NaiveDate, DateTime<Utc>) {
    let date = wanted.unwrap_or(local_now.date());
    if date == local_now.date() {
        (date, now_utc)
    } else {
        let noon = date.and_hms_opt(12, 0, 0).expect("valid time");
        let at = crate::clock::to_utc(crate::clock::school_local_to_utc(noon, timezone));
        (date, at)
    }
}

/// Who may take the pupil on a day: guardians not on the never-release
/// list, pickup persons valid that day, and the day's unused passes. A
/// photo is offered only while the pupil's photos may be used (a
/// guardian's consent in force for a pupil under 14).
fn authorised_adults(
    conn: &mut AnyConnection,
    student: &crate::org::model::StudentRow,
    date: NaiveDate,
) -> AppResult<Vec<AuthorisedAdult>> {
    let student_id = student.id.as_str();
    let photos =
        crate::org::consent::allows(conn, student, crate::org::consent::Purpose::PickupPhotos)?;
    let allowed = family::guardians(conn, student_id)?;
    let mut adults: Vec<AuthorisedAdult> = repo::guardians_named(conn, student_id, &allowed)?
        .into_iter()
        .map(|(id, name, relation)| AuthorisedAdult {
            kind: AdultKind::Guardian,
            id,
            name,
            relation,
            photo_url: None,
            valid_until: None,
        })
        .collect();
    let persons = repo::active_persons_of(conn, student_id)?;
    adults.extend(
        persons
            .into_iter()
            .filter(|p| p.valid_on(date))
            .map(|p| AuthorisedAdult {
                kind: AdultKind::PickupPerson,
                photo_url: p.photo_url().filter(|_| photos),
                valid_until: Some(p.valid_until.date()),
                id: p.id,
                name: p.name,
                relation: p.relation,
            }),
    );
    for (pass_id, person_id) in repo::open_passes_on(conn, student_id, date)? {
        let person = match person_id {
            Some(pid) => repo::person(conn, &pid)?,
            None => None,
        };
        adults.push(AuthorisedAdult {
            kind: AdultKind::Pass,
            id: pass_id,
            photo_url: person
                .as_ref()
                .and_then(PersonRow::photo_url)
                .filter(|_| photos),
            valid_until: Some(date),
            name: person
                .as_ref()
                .map(|p| p.name.clone())
                .unwrap_or_else(|| "(open pass: name on ID)".into()),
            relation: person
                .map(|p| p.relation)
                .unwrap_or_else(|| "pass holder".into()),
        });
    }
    Ok(adults)
}

/// The dismissal board of a class in the caller's scope (gate staff).
pub fn board(
    conn: &mut AnyConnection,
    now: Now,
    caller: &Caller,
    class_id: &str,
    wanted: Option<NaiveDate>,
) -> AppResult<DismissalBoard> {
    let class = crate::org::repo::class(conn, caller, class_id)?;
    let school = repo::school_row(conn, &class.school_id)?;
    let local_now = school_local(now.utc, &school.timezone);
    let (date, at) = board_day(wanted, local_now, now.utc, &school.timezone);
    let overrides = repo::dismissal_overrides(conn, &school.id)?;
    let dismissal = dismissal_time(&school, &overrides, class.grade, date)
        .map(|t| t.format("%H:%M").to_string());
    let pupils = repo::class_pupils(conn, &class.id)?;
    let ids: Vec<String> = pupils.iter().map(|s| s.id.clone()).collect();
    let mut day = Day::load(conn, &ids, date, at)?;
    let mut students = Vec::with_capacity(pupils.len());
    for s in pupils {
        let state = day.state_of(&s.id);
        let handover = match day.handovers.remove(&s.id) {
            Some(h) => Some(handover_view(conn, h)?),
            None => None,
        };
        students.push(BoardStudent {
            authorised_adults: authorised_adults(conn, &s, date)?,
            student_id: s.id,
            name: s.name,
            handover_required: s.handover_required,
            state,
            handover,
        });
    }
    Ok(DismissalBoard {
        class_id: class.id,
        date,
        dismissal_time: dismissal,
        students,
    })
}

/// The end of a school's day, per class (an admin of the school).
pub fn summary(
    conn: &mut AnyConnection,
    now: Now,
    caller: &Caller,
    school_id: &str,
    wanted: Option<NaiveDate>,
) -> AppResult<DismissalSummary> {
    let school = crate::org::repo::school(conn, caller, school_id)?;
    let local_now = school_local(now.utc, &school.timezone);
    let (date, at) = board_day(wanted, local_now, now.utc, &school.timezone);
    let class_rows = repo::school_classes(conn, &school.id)?;
    let pupils = repo::school_pupils(conn, &school.id)?;
    let ids: Vec<String> = pupils.iter().map(|s| s.id.clone()).collect();
    let day = Day::load(conn, &ids, date, at)?;
    let mut classes: Vec<ClassSummary> = class_rows
        .into_iter()
        .map(|(class_id, name, grade)| ClassSummary {
            class_id,
            name,
            grade,
            students: 0,
            needs_handover: 0,
            released: 0,
            alone: 0,
            bus: 0,
            absent: 0,
            on_leave: 0,
            waiting: 0,
        })
        .collect();
    let mut unresolved = Vec::new();
    for s in pupils {
        let Some(c) = classes.iter_mut().find(|c| c.class_id == s.class_id) else {
            continue;
        };
        c.students += 1;
        if s.handover_required {
            c.needs_handover += 1;
        }
        match day.state_of(&s.id) {
            BoardState::Released => c.released += 1,
            BoardState::Alone => c.alone += 1,
            BoardState::Bus => c.bus += 1,
            BoardState::Absent => c.absent += 1,
            BoardState::OnLeave => c.on_leave += 1,
            BoardState::Waiting if s.handover_required => {
                c.waiting += 1;
                unresolved.push(UnresolvedStudent {
                    student_id: s.id,
                    name: s.name,
                    class_id: s.class_id,
                });
            }
            BoardState::Waiting => {}
        }
    }
    Ok(DismissalSummary {
        school_id: school.id,
        date,
        classes,
        unresolved,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(handed_over: bool, presence: Presence, mode: DismissalMode) -> BoardState {
        board_state(DayFacts {
            handed_over,
            presence,
            mode,
        })
    }

    #[test]
    fn a_pupil_handed_over_is_released_whatever_else_the_day_says() {
        for presence in [Presence::Present, Presence::Absent, Presence::OnLeave] {
            for mode in DismissalMode::ALL {
                assert_eq!(state(true, presence, *mode), BoardState::Released);
            }
        }
    }

    #[test]
    fn a_pupil_on_leave_is_on_leave_whatever_their_way_home() {
        for mode in DismissalMode::ALL {
            assert_eq!(state(false, Presence::OnLeave, *mode), BoardState::OnLeave);
        }
    }

    #[test]
    fn a_pupil_marked_absent_is_absent_whatever_their_way_home() {
        for mode in DismissalMode::ALL {
            assert_eq!(state(false, Presence::Absent, *mode), BoardState::Absent);
        }
    }

    #[test]
    fn a_present_pupil_going_home_alone_shows_alone() {
        let s = state(false, Presence::Present, DismissalMode::Alone);
        assert_eq!(s, BoardState::Alone);
    }

    #[test]
    fn a_present_pupil_taking_the_bus_shows_bus() {
        let s = state(false, Presence::Present, DismissalMode::Bus);
        assert_eq!(s, BoardState::Bus);
    }

    #[test]
    fn a_present_pupil_waiting_for_an_adult_shows_waiting() {
        let s = state(false, Presence::Present, DismissalMode::Handover);
        assert_eq!(s, BoardState::Waiting);
    }

    #[test]
    fn a_day_without_records_is_a_pupil_waiting_and_an_unknown_mode_is_handover() {
        let day = Day {
            handovers: HashMap::new(),
            modes: HashMap::new(),
            presence: HashMap::new(),
        };
        assert_eq!(day.state_of("nobody"), BoardState::Waiting);
        assert_eq!(
            DismissalMode::parse("teleport").unwrap_or(DismissalMode::Handover),
            DismissalMode::Handover
        );
    }

    #[test]
    fn a_board_of_today_describes_now_and_another_day_its_midday() {
        let tz = "Asia/Shanghai";
        let now_utc = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 11, 30, 9, 0, 0).unwrap();
        let local_now = school_local(now_utc, tz);
        let (today, at) = board_day(None, local_now, now_utc, tz);
        assert_eq!((today, at), (local_now.date(), now_utc));
        let other = today.pred_opt().unwrap();
        let (date, at) = board_day(Some(other), local_now, now_utc, tz);
        assert_eq!(date, other);
        assert_eq!(school_local(at, tz), other.and_hms_opt(12, 0, 0).unwrap());
    }
}
