//! Notices: a message from a teacher, a school or the bureau to families
//! and students. Recipients are resolved when the notice is sent and kept
//! (one feed item per account, one recipient row per account and student),
//! so later class changes do not rewrite who was told.

use crate::audit::{self, AuditEvent};
use crate::auth::{Caller, Role};
use crate::clock::to_utc;
use crate::db::{new_id, AnyConnection};
use crate::error::{ApiError, AppResult, Code};
use crate::http::{Page, PageQuery};
use crate::notices::dto::*;
use crate::notices::model::{NoticeInsert, NoticeRow, Resolved};
use crate::notices::repo::notices as repo;
use crate::notify::sending::outbox::{self, Reason, Selector};
use crate::notify::Category;
use crate::org::repo as org;
use crate::state::AppState;
use actix_web::http::StatusCode;
use chrono::NaiveDateTime;
use std::collections::{BTreeMap, HashMap, HashSet};

const PENDING_LIMIT: i64 = 1000;

fn audience_refused(detail: &str) -> ApiError {
    ApiError::forbidden(Code::AudienceNotAllowed, detail.to_string()).with_field("audience")
}

fn ids(list: &[crate::org::dto::Id]) -> Vec<String> {
    let set: std::collections::BTreeSet<String> =
        list.iter().map(|i| i.as_str().to_string()).collect();
    set.into_iter().collect()
}

fn check_audience(conn: &mut AnyConnection, caller: &Caller, a: &Audience) -> AppResult<Resolved> {
    let given = [
        a.school_ids.is_some(),
        a.grades.is_some(),
        a.class_ids.is_some(),
        a.student_ids.is_some(),
    ]
    .iter()
    .filter(|x| **x)
    .count();
    if given != 1 {
        return Err(ApiError::invalid(
            "audience",
            "give exactly one of school_ids, grades, class_ids or student_ids",
        ));
    }
    let len = a.school_ids.as_ref().map(Vec::len).unwrap_or(0)
        + a.grades.as_ref().map(Vec::len).unwrap_or(0)
        + a.class_ids.as_ref().map(Vec::len).unwrap_or(0)
        + a.student_ids.as_ref().map(Vec::len).unwrap_or(0);
    if len == 0 || len > MAX_AUDIENCE_ITEMS {
        return Err(ApiError::invalid(
            "audience",
            format!("the audience must list 1 to {MAX_AUDIENCE_ITEMS} items"),
        ));
    }
    let teacher = caller.role == Role::Teacher;
    if let Some(list) = &a.school_ids {
        if teacher {
            return Err(audience_refused("a teacher sends to their own classes"));
        }
        let list = ids(list);
        for id in &list {
            org::school(conn, caller, id)?;
        }
        return Ok(Resolved::Schools(list));
    }
    if let Some(grades) = &a.grades {
        if teacher {
            return Err(audience_refused("a teacher sends to their own classes"));
        }
        if grades.iter().any(|g| !(1..=12).contains(g)) {
            return Err(ApiError::invalid("audience.grades", "grades are 1 to 12"));
        }
        let mut g = grades.clone();
        g.sort_unstable();
        g.dedup();
        return Ok(Resolved::Grades(g));
    }
    if let Some(list) = &a.class_ids {
        let list = ids(list);
        for id in &list {
            let class = org::class(conn, caller, id)?;
            if teacher && class.head_teacher_id.as_deref() != Some(caller.user_id.as_str()) {
                return Err(audience_refused("a teacher sends to their own classes"));
            }
        }
        return Ok(Resolved::Classes(list));
    }
    let list = ids(a.student_ids.as_deref().unwrap_or_default());
    for id in &list {
        let student = org::student(conn, caller, id)?;
        if teacher {
            let head = repo::head_teacher(conn, &student.class_id)?;
            if head.as_deref() != Some(caller.user_id.as_str()) {
                return Err(audience_refused("a teacher sends to their own classes"));
            }
        }
    }
    Ok(Resolved::Students(list))
}

/// Sends a notice: checks the audience, resolves and keeps its recipients,
/// writes one feed item per account and the outbox rows for their
/// channels, all in the caller's transaction. Batched inserts only.
pub fn create_notice(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    req: NewNotice,
) -> AppResult<Notice> {
    if !matches!(
        caller.role,
        Role::Teacher | Role::SchoolAdmin | Role::BureauOfficer
    ) {
        return Err(ApiError::forbidden(
            Code::ForbiddenRole,
            "teachers, school admins and bureau officers send notices",
        ));
    }
    let ack_due_at = match (req.requires_ack, req.ack_due_at) {
        (false, Some(_)) => {
            return Err(ApiError::invalid(
                "ack_due_at",
                "ack_due_at needs requires_ack",
            ))
        }
        (_, Some(d)) if d.naive_utc() <= now => {
            return Err(ApiError::invalid(
                "ack_due_at",
                "ack_due_at must be in the future",
            ))
        }
        (_, d) => d.map(|d| d.naive_utc()),
    };
    let resolved = check_audience(conn, caller, &req.audience)?;
    let (guardians, pupils) = repo::reach(conn, caller, &resolved, req.to)?;
    if guardians.is_empty() && pupils.is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            Code::AudienceEmpty,
            "nobody with an account is in this audience",
        )
        .with_field("audience"));
    }
    let category = req.category.category();
    let id = new_id(now);
    let school_id = match (&caller.school_id, &resolved) {
        (Some(s), _) => Some(s.clone()),
        (None, Resolved::Schools(v)) if v.len() == 1 => Some(v[0].clone()),
        _ => None,
    };
    // One feed item per account, however many of its children are reached.
    let mut item_of: HashMap<&str, String> = HashMap::new();
    let mut order: Vec<&str> = Vec::new();
    for (user, ..) in guardians.iter().chain(pupils.iter()) {
        item_of.entry(user.as_str()).or_insert_with(|| {
            order.push(user.as_str());
            new_id(now)
        });
    }
    let audience = serde_json::to_string(&req.audience).map_err(ApiError::internal)?;
    let row = NoticeInsert {
        id: &id,
        district_id: &caller.district_id,
        school_id: school_id.as_deref(),
        sender_id: &caller.user_id,
        audience: &audience,
        to_whom: req.to.as_str(),
        category: category.as_str(),
        title: req.title.as_str(),
        body: req.body.as_str(),
        requires_ack: req.requires_ack,
        ack_due_at,
        recipient_count: order.len() as i32,
        created_at: now,
    };
    repo::insert_notice(conn, &row)?;
    let items: Vec<(&str, &str)> = order.iter().map(|u| (*u, item_of[u].as_str())).collect();
    repo::insert_items(conn, now, &row, &items)?;
    let recipients: Vec<_> = guardians
        .iter()
        .map(|r| (r, "guardian"))
        .chain(pupils.iter().map(|r| (r, "student")))
        .map(|(r, kind)| (r, kind, item_of[r.0.as_str()].as_str()))
        .collect();
    repo::insert_recipients(conn, now, &id, &recipients)?;
    outbox::enqueue(
        conn,
        now,
        Selector::Notice(&id),
        Reason::Initial,
        category,
        None,
    )?;
    audit::record(
        conn,
        now,
        AuditEvent::by(caller, "notice.send", "notice", Some(&id)).in_school(school_id.as_deref()),
    )?;
    Ok(Notice {
        id,
        school_id,
        sender_id: caller.user_id.clone(),
        audience: req.audience,
        to: req.to,
        category,
        title: req.title.into_string(),
        body: req.body.into_string(),
        requires_ack: req.requires_ack,
        ack_due_at: ack_due_at.map(to_utc),
        recipients: order.len() as i64,
        created_at: to_utc(now),
    })
}

fn to_dto(r: NoticeRow) -> Notice {
    let (id, school_id, sender_id, audience, to, category, title, body, ack, due, n, at) = r;
    Notice {
        id,
        school_id,
        sender_id,
        audience: serde_json::from_str(&audience).unwrap_or(Audience {
            school_ids: None,
            grades: None,
            class_ids: None,
            student_ids: None,
        }),
        to: NoticeTo::parse(&to).unwrap_or(NoticeTo::Guardians),
        category: Category::parse(&category).unwrap_or(Category::General),
        title,
        body,
        requires_ack: ack,
        ack_due_at: due.map(to_utc),
        recipients: n as i64,
        created_at: to_utc(at),
    }
}

/// A page of the notices the caller sent or oversees, newest first.
pub async fn list(state: &AppState, caller: Caller, page: PageQuery) -> AppResult<NoticePage> {
    let limit = page.limit()?;
    let cursor = page.cursor()?;
    let rows = state
        .db
        .read(move |conn| repo::list(conn, &caller, cursor, limit + 1))
        .await?;
    let page = Page::from_rows(rows, limit, |r| r.0.clone());
    Ok(NoticePage {
        items: page.items.into_iter().map(to_dto).collect(),
        next_cursor: page.next_cursor,
    })
}

/// One notice in the caller's view.
pub fn notice(conn: &mut AnyConnection, caller: &Caller, id: &str) -> AppResult<Notice> {
    repo::visible(conn, caller, id)?
        .map(to_dto)
        .ok_or_else(|| ApiError::not_found("notice"))
}

/// Who received, read and acknowledged a notice in the caller's view; the
/// reading is audited.
pub fn receipts(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    id: &str,
) -> AppResult<Receipts> {
    let notice = notice(conn, caller, id)?;
    let t = repo::totals(conn, &notice.id)?;
    let by_class = repo::by_class(conn, &notice.id)?;
    let mut pending = repo::pending(conn, &notice.id, notice.requires_ack, PENDING_LIMIT + 1)?;
    let truncated = pending.len() as i64 > PENDING_LIMIT;
    pending.truncate(PENDING_LIMIT as usize);
    audit::record(
        conn,
        now,
        AuditEvent::by(caller, "notice.receipts.read", "notice", Some(id))
            .in_school(notice.school_id.as_deref()),
    )?;
    Ok(Receipts {
        notice_id: notice.id.clone(),
        recipients: t.recipients,
        delivered: t.delivered,
        read: t.read,
        acknowledged: t.acked,
        by_class: by_class
            .into_iter()
            .map(|c| ClassReceipts {
                class_id: c.class_id,
                class_name: c.class_name,
                grade: c.grade,
                students: c.students,
                read: c.read,
                acknowledged: c.acked,
            })
            .collect(),
        pending: pending
            .into_iter()
            .map(|p| PendingRecipient {
                user_id: p.user_id,
                user_name: p.user_name,
                student_id: p.student_id,
                student_name: p.student_name,
                class_id: p.class_id,
                class_name: p.class_name,
            })
            .collect(),
        pending_truncated: truncated,
    })
}

fn share(part: i64, whole: i64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        ((part as f64 / whole as f64) * 10_000.0).round() / 10_000.0
    }
}

/// The reach of prevention education in the caller's view, for a period of
/// at most two years.
pub async fn coverage(state: &AppState, caller: Caller, q: CoverageQuery) -> AppResult<Coverage> {
    if q.from >= q.to {
        return Err(ApiError::invalid("to", "to must be after from"));
    }
    if q.to - q.from > chrono::Duration::days(731) {
        return Err(ApiError::invalid("to", "the period is at most two years"));
    }
    let category = q.category.unwrap_or_default().category();
    let (from, to) = (q.from.naive_utc(), q.to.naive_utc());
    let schools = state
        .db
        .read(move |conn| school_coverage(conn, &caller, category, from, to))
        .await?;
    Ok(Coverage {
        category,
        from: q.from,
        to: q.to,
        schools,
    })
}

/// Per school and class in the caller's view: the share of students, and of
/// families, who acknowledged at least one notice of the category sent in
/// [from, to). Classes are the students' current ones.
fn school_coverage(
    conn: &mut AnyConnection,
    caller: &Caller,
    category: Category,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> AppResult<Vec<SchoolCoverage>> {
    let schools = repo::schools(conn, caller)?;
    let mut out = Vec::with_capacity(schools.len());
    for (school_id, school_name) in schools {
        let class_list = repo::classes_of(conn, &school_id)?;
        let pupils = repo::pupils_of(conn, &school_id)?;
        let with_family: HashSet<String> =
            repo::with_family(conn, &school_id)?.into_iter().collect();
        let acked = repo::acknowledged(conn, &school_id, category.as_str(), from, to)?;
        let student_acked: HashSet<&str> = acked
            .iter()
            .filter(|a| a.kind == "student")
            .map(|a| a.student_id.as_str())
            .collect();
        let family_acked: HashSet<&str> = acked
            .iter()
            .filter(|a| a.kind == "guardian")
            .map(|a| a.student_id.as_str())
            .collect();
        // class → [students, students acked, families, families acked]
        let mut per: BTreeMap<&str, [i64; 4]> = BTreeMap::new();
        for (student, class) in &pupils {
            let e = per.entry(class.as_str()).or_default();
            e[0] += 1;
            e[1] += student_acked.contains(student.as_str()) as i64;
            let fam = with_family.contains(student);
            e[2] += fam as i64;
            e[3] += (fam && family_acked.contains(student.as_str())) as i64;
        }
        let figures = |v: [i64; 4]| CoverageFigures {
            students: v[0],
            students_acknowledged: v[1],
            student_share: share(v[1], v[0]),
            families: v[2],
            families_acknowledged: v[3],
            family_share: share(v[3], v[2]),
        };
        let mut total = [0i64; 4];
        let classes_out: Vec<ClassCoverage> = class_list
            .into_iter()
            .map(|(id, name, grade)| {
                let v = per.get(id.as_str()).copied().unwrap_or_default();
                for i in 0..4 {
                    total[i] += v[i];
                }
                ClassCoverage {
                    class_id: id,
                    name,
                    grade,
                    figures: figures(v),
                }
            })
            .collect();
        out.push(SchoolCoverage {
            school_id,
            name: school_name,
            figures: figures(total),
            classes: classes_out,
        });
    }
    Ok(out)
}
