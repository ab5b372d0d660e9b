//! Roster import and export: a school's pupils and their guardians as one
//! spreadsheet. An import is one transaction, idempotent by student
//! number: it creates the classes and parent accounts it needs (each parent
//! gets an activation code by SMS), updates what changed, and a second
//! import of the same file changes nothing. A dry run plans the same and
//! writes nothing; a file with any bad row imports nothing.

pub mod rules;

use crate::audit::{self, AuditEvent};
use crate::auth::{Caller, Role};
use crate::db::{new_id, AnyConnection};
use crate::error::{ApiError, AppResult};
use crate::org::dto::Guardian;
use crate::org::model::{ClassRow, StudentRow, UserRow};
use crate::org::repo;
use crate::org::service::activation;
use chrono::NaiveDateTime;
use rules::{GuardianIn, PupilIn, RowError};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use utoipa::ToSchema;

/// What an import did (or, in a dry run, would do).
#[derive(Serialize, ToSchema, Default)]
pub struct RosterImport {
    pub dry_run: bool,
    /// Pupils in the file.
    pub rows: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub classes_created: usize,
    pub parents_created: usize,
    pub guardians_linked: usize,
    /// Every problem, by line and column (a real run with any answers 422).
    pub errors: Vec<RowError>,
}

/// What the school has now, as an import compares it.
struct Known {
    classes: HashMap<(i32, String), String>,
    students: HashMap<String, StudentRow>,
    parents: HashMap<String, String>,
    links: HashMap<(String, String), Guardian>,
    usernames: HashSet<String>,
}

fn digits(phone: &str) -> String {
    phone
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '+')
        .collect()
}

fn known(conn: &mut AnyConnection, school_id: &str, district_id: &str) -> AppResult<Known> {
    let classes = repo::school_classes(conn, school_id)?
        .into_iter()
        .map(|c| ((c.grade, c.name), c.id))
        .collect();
    let students: HashMap<String, StudentRow> = repo::school_students(conn, school_id)?
        .into_iter()
        .map(|s| (s.student_no.clone(), s))
        .collect();
    let mut parents = HashMap::new();
    let mut usernames = HashSet::new();
    for (id, username, phone) in repo::district_parents(conn, district_id)? {
        if let Some(p) = phone {
            parents.entry(digits(&p)).or_insert(id);
        }
        usernames.insert(username);
    }
    let links = repo::school_guardianships(conn, school_id)?
        .into_iter()
        .map(|g| ((g.student_id.clone(), g.user_id.clone()), g))
        .collect();
    Ok(Known {
        classes,
        students,
        parents,
        links,
        usernames,
    })
}

/// A free username for a parent: `p` and the phone's digits, with a suffix
/// when another account has it.
fn username_for(phone: &str, taken: &HashSet<String>) -> String {
    let base = format!("p{}", phone.trim_start_matches('+'));
    (1..)
        .map(|n| {
            if n == 1 {
                base.clone()
            } else {
                format!("{base}-{n}")
            }
        })
        .find(|u| !taken.contains(u))
        .unwrap_or(base)
}

/// Imports `bytes` into the school. `write` false is the dry run.
pub fn import(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    school_id: &str,
    bytes: AppResult<Vec<u8>>,
    write: bool,
) -> AppResult<RosterImport> {
    let school = repo::school(conn, caller, school_id)?;
    let bytes = bytes?;
    let mut out = RosterImport {
        dry_run: !write,
        ..Default::default()
    };
    let parsed = rules::decode(&bytes)
        .map_err(|e| vec![e])
        .and_then(|t| rules::parse(&t));
    let pupils = match parsed {
        Ok(p) => p,
        // A file whose header is wrong is not a roster at all: refused
        // even on a dry run, which lists the errors of the rows of a roster.
        Err(errors) if !write && errors.iter().all(|e| e.line > 1) => {
            out.errors = errors;
            return Ok(out);
        }
        Err(errors) => return Err(refusal(&errors)),
    };
    out.rows = pupils.len();
    let mut k = known(conn, &school.id, &school.district_id)?;
    for p in &pupils {
        let class_id = class_for(conn, now, &school.id, p, &mut k, &mut out, write)?;
        let (student_id, mut changed, created) =
            student_for(conn, now, &school, p, class_id, &mut k, write)?;
        for g in &p.guardians {
            let parent = parent_for(conn, now, caller, g, &mut k, &mut out, write)?;
            changed |= link(conn, now, &student_id, &parent, g, &mut k, &mut out, write)?;
        }
        match (created, changed) {
            (true, _) => out.created += 1,
            (false, true) => out.updated += 1,
            (false, false) => out.unchanged += 1,
        }
    }
    if write {
        audit::record(
            conn,
            now,
            AuditEvent::by(caller, "roster.import", "school", Some(&school.id))
                .in_school(Some(&school.id)),
        )?;
    }
    Ok(out)
}

/// A file with bad rows: the first problem, named by line and column.
fn refusal(errors: &[RowError]) -> ApiError {
    let first = &errors[0];
    let more = match errors.len() {
        1 => String::new(),
        n => format!(" (and {} more: ?dry_run=true lists them all)", n - 1),
    };
    ApiError::invalid(
        first.column.clone(),
        format!(
            "line {}, column {}: {}{more}; nothing was imported",
            first.line, first.column, first.message
        ),
    )
}

fn class_for(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    school_id: &str,
    p: &PupilIn,
    k: &mut Known,
    out: &mut RosterImport,
    write: bool,
) -> AppResult<String> {
    let key = (p.grade, p.class.clone());
    if let Some(id) = k.classes.get(&key) {
        return Ok(id.clone());
    }
    let row = ClassRow {
        id: new_id(now),
        school_id: school_id.to_string(),
        grade: p.grade,
        name: p.class.clone(),
        head_teacher_id: None,
    };
    if write {
        repo::insert_class(conn, &row, now)?;
    }
    out.classes_created += 1;
    k.classes.insert(key, row.id.clone());
    Ok(row.id)
}

/// The pupil's id, whether anything changed, whether it was created.
fn student_for(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    school: &crate::org::model::SchoolRow,
    p: &PupilIn,
    class_id: String,
    k: &mut Known,
    write: bool,
) -> AppResult<(String, bool, bool)> {
    if let Some(s) = k.students.get_mut(&p.student_no) {
        let same = s.name == p.name && s.grade == p.grade && s.class_id == class_id;
        if !same {
            s.name = p.name.clone();
            s.grade = p.grade;
            s.class_id = class_id;
            if write {
                repo::update_student(conn, s)?;
            }
        }
        return Ok((s.id.clone(), !same, false));
    }
    let row = StudentRow {
        id: new_id(now),
        school_id: school.id.clone(),
        class_id,
        name: p.name.clone(),
        student_no: p.student_no.clone(),
        grade: p.grade,
        handover_required: school.kind().handover_required_by_default(p.grade),
        user_id: None,
        sex: p.sex.map(|s| s.as_str().to_string()),
        left_at: None,
    };
    if write {
        repo::insert_student(conn, &row, now)?;
    }
    let id = row.id.clone();
    k.students.insert(p.student_no.clone(), row);
    Ok((id, true, true))
}

fn parent_for(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    g: &GuardianIn,
    k: &mut Known,
    out: &mut RosterImport,
    write: bool,
) -> AppResult<String> {
    if let Some(id) = k.parents.get(&g.phone) {
        return Ok(id.clone());
    }
    let row = UserRow {
        id: new_id(now),
        district_id: caller.district_id.clone(),
        school_id: None,
        role: Role::Parent.as_str().to_string(),
        username: username_for(&g.phone, &k.usernames),
        display_name: g.name.clone(),
        phone: Some(g.phone.clone()),
        email: None,
        language: crate::i18n::Language::default().as_str().to_string(),
        disabled: false,
        sex: None,
    };
    if write {
        repo::insert_user(conn, &row, "", false, now)?;
        activation(conn, now, &row)?;
    }
    out.parents_created += 1;
    k.usernames.insert(row.username.clone());
    k.parents.insert(g.phone.clone(), row.id.clone());
    Ok(row.id)
}

/// Links the guardian to the pupil, or updates the link; whether it changed.
#[allow(clippy::too_many_arguments)]
fn link(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    student_id: &str,
    parent: &str,
    g: &GuardianIn,
    k: &mut Known,
    out: &mut RosterImport,
    write: bool,
) -> AppResult<bool> {
    let key = (student_id.to_string(), parent.to_string());
    if let Some(l) = k.links.get_mut(&key) {
        if l.relation == g.relation && l.primary == g.primary {
            return Ok(false);
        }
        l.relation = g.relation.clone();
        l.primary = g.primary;
        if write {
            repo::update_guardianship(conn, &l.id, &g.relation, g.primary)?;
        }
        return Ok(true);
    }
    let link = Guardian {
        id: new_id(now),
        student_id: student_id.to_string(),
        user_id: parent.to_string(),
        relation: g.relation.clone(),
        primary: g.primary,
    };
    if write {
        repo::insert_guardian(conn, &link, now)?;
    }
    out.guardians_linked += 1;
    k.links.insert(key, link);
    Ok(true)
}

/// The school's roster in the import's columns (UTF-8 with a byte-order
/// mark, so Excel opens it as such). Pupils who transferred out are not in
/// it: the school keeps their record, not their place.
pub fn export(conn: &mut AnyConnection, caller: &Caller, school_id: &str) -> AppResult<Vec<u8>> {
    let school = repo::school(conn, caller, school_id)?;
    let classes: HashMap<String, String> = repo::school_classes(conn, &school.id)?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect();
    let mut guardians: HashMap<String, Vec<(Guardian, String, Option<String>)>> = HashMap::new();
    for (g, name, phone) in repo::school_guardians_with_contact(conn, &school.id)? {
        guardians
            .entry(g.student_id.clone())
            .or_default()
            .push((g, name, phone));
    }
    let mut students = repo::school_students(conn, &school.id)?;
    students.retain(|s| s.left_at.is_none());
    students.sort_by(|a, b| a.student_no.cmp(&b.student_no));
    let mut w = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    let fail = |e: csv::Error| ApiError::internal(e);
    w.write_record(rules::COLUMNS).map_err(fail)?;
    for s in students {
        let mut rec = vec![
            s.student_no.clone(),
            s.name.clone(),
            s.grade.to_string(),
            classes.get(&s.class_id).cloned().unwrap_or_default(),
            match s.sex.as_deref() {
                Some("male") => "M",
                Some("female") => "F",
                _ => "",
            }
            .to_string(),
        ];
        let mut gs = guardians.remove(&s.id).unwrap_or_default();
        gs.sort_by(|a, b| b.0.primary.cmp(&a.0.primary).then(a.0.id.cmp(&b.0.id)));
        for i in 0..2 {
            match gs.get(i) {
                Some((g, name, phone)) => rec.extend([
                    name.clone(),
                    phone.clone().unwrap_or_default(),
                    g.relation.clone(),
                    if g.primary { "Y" } else { "N" }.to_string(),
                ]),
                None => rec.extend(std::iter::repeat_n(String::new(), 4)),
            }
        }
        w.write_record(&rec).map_err(fail)?;
    }
    w.into_inner()
        .map_err(|e| ApiError::internal(e.to_string()))
}
