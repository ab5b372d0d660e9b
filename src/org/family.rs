//! The family: who is a pupil's guardian, what a caller is to a pupil, and
//! the never-release list (a court order, a protective order) that bars a
//! guardian. The one source every domain asks: leave, pickup, attendance
//! and notifications alike.

use crate::auth::{Caller, Role};
use crate::db::schema::{classes, guardianships, pickup_blocks, users};
use crate::db::AnyConnection;
use crate::error::{ApiError, AppResult};
use crate::org::model::StudentRow;
use diesel::prelude::*;

/// Names compare without case, spaces or punctuation ("Li  Na" = "li-na").
pub fn normalise_name(name: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    // NFKC first: full-width letters, compatibility forms and ligatures
    // become the letters they look like, so "Ｗａｎｇ" is "wang".
    name.nfkc()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

fn phone_digits(phone: &str) -> String {
    phone.chars().filter(char::is_ascii_digit).collect()
}

/// Two phone numbers are the same when their digits are, allowing one to
/// carry a country prefix the other omits.
pub fn same_phone(a: &str, b: &str) -> bool {
    let (a, b) = (phone_digits(a), phone_digits(b));
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    short.len() >= 7 && long.ends_with(&short)
}

/// What a caller is to one pupil (already known to be in the caller's scope).
pub struct Relationship {
    pub guardian: bool,
    pub primary_guardian: bool,
    pub school_admin: bool,
    pub school_staff: bool,
}

pub fn relationship(
    conn: &mut AnyConnection,
    caller: &Caller,
    student: &StudentRow,
) -> AppResult<Relationship> {
    let primary = guardianships::table
        .filter(guardianships::student_id.eq(&student.id))
        .filter(guardianships::user_id.eq(&caller.user_id))
        .select(guardianships::is_primary)
        .first::<bool>(conn)
        .optional()?;
    // A guardian the never-release list names sees and does nothing here.
    let primary = match primary {
        Some(p) if !guardian_is_blocked(conn, &student.id, &caller.user_id)? => Some(p),
        _ => None,
    };
    let own_school = caller.school_id.as_deref() == Some(student.school_id.as_str());
    Ok(Relationship {
        guardian: primary.is_some(),
        primary_guardian: primary == Some(true),
        school_admin: own_school && caller.role == Role::SchoolAdmin,
        school_staff: own_school && caller.role.is_school_staff(),
    })
}

fn guardian_is_blocked(
    conn: &mut AnyConnection,
    student_id: &str,
    user_id: &str,
) -> AppResult<bool> {
    Ok(!guardians(conn, student_id)?.iter().any(|g| g == user_id))
}

/// A pupil seen by its family or its school's staff; anyone else (another
/// family, another school, the district, the pupil) gets 404.
pub fn student_for_family_or_school(
    conn: &mut AnyConnection,
    caller: &Caller,
    student_id: &str,
) -> AppResult<(StudentRow, Relationship)> {
    let student = crate::org::repo::student(conn, caller, student_id)?;
    let rel = relationship(conn, caller, &student)?;
    if rel.guardian || rel.school_staff {
        Ok((student, rel))
    } else {
        Err(ApiError::not_found("student"))
    }
}

/// Whether whoever named a pickup person or issued a pass still may: the
/// school's admin, or a guardian who is neither disabled nor on the pupil's
/// never-release list. A guardian later barred by a custody order cannot
/// send someone with a pass they issued before.
pub fn authoriser_in_good_standing(
    conn: &mut AnyConnection,
    student: &StudentRow,
    user_id: &str,
) -> AppResult<bool> {
    let row: Option<(String, Option<String>, bool)> = users::table
        .find(user_id)
        .select((users::role, users::school_id, users::disabled))
        .first(conn)
        .optional()?;
    let Some((role, school_id, disabled)) = row else {
        return Ok(false);
    };
    if disabled {
        return Ok(false);
    }
    if role == crate::auth::Role::SchoolAdmin.as_str()
        && school_id.as_deref() == Some(student.school_id.as_str())
    {
        return Ok(true);
    }
    Ok(guardians(conn, &student.id)?.iter().any(|g| g == user_id))
}

/// Everyone to tell about a pupil's pickup: its guardians, except one the
/// pupil's never-release list names (a parent under a custody order must
/// not learn who takes the child, or when).
/// An entry still awaiting the school admin (pending) cuts nobody off.
pub fn guardians(conn: &mut AnyConnection, student_id: &str) -> AppResult<Vec<String>> {
    let blocks = never_release(conn, student_id)?;
    guardians_beside(conn, student_id, &blocks)
}

/// `guardians`, for a caller that has just read the pupil's entries in
/// force (`blocks_and_holds`).
pub fn guardians_beside(
    conn: &mut AnyConnection,
    student_id: &str,
    blocks: &[NeverRelease],
) -> AppResult<Vec<String>> {
    Ok(guardian_identities(conn, student_id)?
        .into_iter()
        .filter(|(_, who)| !blocks.iter().any(|b| b.names(who)))
        .map(|(id, _)| id)
        .collect())
}

pub fn head_teacher(conn: &mut AnyConnection, class_id: &str) -> AppResult<Vec<String>> {
    Ok(classes::table
        .find(class_id)
        .select(classes::head_teacher_id)
        .first::<Option<String>>(conn)
        .optional()?
        .flatten()
        .into_iter()
        .collect())
}

pub fn school_admins(conn: &mut AnyConnection, school_id: &str) -> AppResult<Vec<String>> {
    Ok(users::table
        .filter(users::school_id.eq(school_id))
        .filter(users::role.eq(Role::SchoolAdmin.as_str()))
        .filter(users::disabled.eq(false))
        .select(users::id)
        .order(users::id)
        .load(conn)?)
}

/// Several recipient lists as one, each user once.
pub fn recipients(lists: &[&[String]]) -> Vec<String> {
    let mut all: Vec<String> = lists.iter().flat_map(|l| l.iter().cloned()).collect();
    all.sort();
    all.dedup();
    all
}

/// What the adult showed at the gate, normalised.
#[derive(Default, Clone)]
pub struct Identity {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub id_last4: Option<String>,
}

pub fn is_guardian(conn: &mut AnyConnection, user_id: &str, student_id: &str) -> AppResult<bool> {
    Ok(guardians(conn, student_id)?.iter().any(|g| g == user_id))
}

/// The children a guardian may still follow: their guardianships, less
/// those where a pickup block (a court order) bars them.
pub fn unbarred_children(conn: &mut AnyConnection, caller: &Caller) -> AppResult<Vec<String>> {
    let children: Vec<String> = guardianships::table
        .filter(guardianships::user_id.eq(&caller.user_id))
        .select(guardianships::student_id)
        .load(conn)?;
    let mut out = Vec::with_capacity(children.len());
    for child in children {
        if is_guardian(conn, &caller.user_id, &child)? {
            out.push(child);
        }
    }
    Ok(out)
}

/// Whether the caller may read what a family wrote about a pupil (a leave's
/// reason, an absence's explanation): the family, the school's admin and
/// the class's head teacher. Guards and other staff see the facts (absent,
/// on leave, until when), not the reasons.
pub fn family_words_visible(
    conn: &mut AnyConnection,
    caller: &Caller,
    school_id: &str,
    class_id: &str,
) -> AppResult<bool> {
    Ok(match caller.role {
        // Their scope holds only their own children or themself.
        Role::Parent | Role::Student => true,
        Role::SchoolAdmin => caller.school_id.as_deref() == Some(school_id),
        Role::Teacher => is_head_teacher(conn, caller, class_id)?,
        _ => false,
    })
}

/// The head teacher of a class, if it has one.
pub fn head_teacher_of(conn: &mut AnyConnection, class_id: &str) -> AppResult<Option<String>> {
    Ok(classes::table
        .find(class_id)
        .select(classes::head_teacher_id)
        .first::<Option<String>>(conn)
        .optional()?
        .flatten())
}

pub fn is_head_teacher(
    conn: &mut AnyConnection,
    caller: &Caller,
    class_id: &str,
) -> AppResult<bool> {
    Ok(caller.role == Role::Teacher
        && head_teacher_of(conn, class_id)?.as_deref() == Some(caller.user_id.as_str()))
}

pub fn users_with_role(
    conn: &mut AnyConnection,
    school_id: &str,
    role: Role,
) -> AppResult<Vec<String>> {
    Ok(users::table
        .filter(users::school_id.eq(school_id))
        .filter(users::role.eq(role.as_str()))
        .filter(users::disabled.eq(false))
        .select(users::id)
        .order(users::id)
        .load(conn)?)
}

/// The student's own account, if they have one.
pub fn student_account(student: &StudentRow) -> Vec<String> {
    student.user_id.iter().cloned().collect()
}

/// The user ids of a student's guardians.
pub fn guardian_ids(conn: &mut AnyConnection, student_id: &str) -> AppResult<Vec<String>> {
    Ok(guardianships::table
        .filter(guardianships::student_id.eq(student_id))
        .select(guardianships::user_id)
        .order(guardianships::user_id)
        .load(conn)?)
}

/// An entry of a pupil's never-release list, by the marks that identify
/// the person it names.
#[derive(Clone, Debug)]
pub struct NeverRelease {
    pub id: String,
    pub name_norm: String,
    pub phone: Option<String>,
    pub id_last4: Option<String>,
}

impl NeverRelease {
    /// Whether this entry names the adult: the same name (normalised), phone
    /// or ID ending.
    pub fn names(&self, who: &Identity) -> bool {
        let name = who
            .name
            .as_deref()
            .map(normalise_name)
            .is_some_and(|n| !n.is_empty() && n == self.name_norm);
        let phone = matches!((&self.phone, &who.phone), (Some(x), Some(y)) if same_phone(x, y));
        let id = matches!((&self.id_last4, &who.id_last4), (Some(x), Some(y)) if x == y);
        name || phone || id
    }
}

/// A never-release entry's standing: `Pending` names a current guardian and
/// waits for the school admin (it holds that guardian's releases but cuts
/// nothing off); `Active` is in force; `Rejected` ended it.
pub const BLOCK_ACTIVE: &str = "active";
pub const BLOCK_PENDING: &str = "pending";
pub const BLOCK_REJECTED: &str = "rejected";

/// The pupil's never-release entries in force (confirmed, not lifted).
pub fn never_release(conn: &mut AnyConnection, student_id: &str) -> AppResult<Vec<NeverRelease>> {
    standing(conn, student_id, BLOCK_ACTIVE)
}

/// The pupil's entries naming a guardian that await the school admin: the
/// guardian keeps the child's file and alerts, but a release to them is held.
pub fn pending_holds(conn: &mut AnyConnection, student_id: &str) -> AppResult<Vec<NeverRelease>> {
    standing(conn, student_id, BLOCK_PENDING)
}

fn standing(
    conn: &mut AnyConnection,
    student_id: &str,
    status: &str,
) -> AppResult<Vec<NeverRelease>> {
    Ok(entries(conn, student_id, &[status])?
        .into_iter()
        .map(|(_, e)| e)
        .collect())
}

/// The pupil's entries in force and those awaiting the school admin, in
/// one read: (`never_release`, `pending_holds`).
pub fn blocks_and_holds(
    conn: &mut AnyConnection,
    student_id: &str,
) -> AppResult<(Vec<NeverRelease>, Vec<NeverRelease>)> {
    let (active, pending): (Vec<_>, Vec<_>) =
        entries(conn, student_id, &[BLOCK_ACTIVE, BLOCK_PENDING])?
            .into_iter()
            .partition(|(status, _)| status == BLOCK_ACTIVE);
    let strip = |v: Vec<(String, NeverRelease)>| v.into_iter().map(|(_, e)| e).collect();
    Ok((strip(active), strip(pending)))
}

/// The pupil's current guardians (whether or not a block names them), each
/// by the marks a never-release entry matches.
pub fn guardian_identities(
    conn: &mut AnyConnection,
    student_id: &str,
) -> AppResult<Vec<(String, Identity)>> {
    let rows: Vec<(String, String, Option<String>)> = guardianships::table
        .inner_join(users::table)
        .filter(guardianships::student_id.eq(student_id))
        .select((users::id, users::display_name, users::phone))
        .order(users::id)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, name, phone)| {
            let who = Identity {
                name: Some(name),
                phone,
                id_last4: None,
            };
            (id, who)
        })
        .collect())
}

/// The pupil's entries of these standings, not lifted, each with its standing.
fn entries(
    conn: &mut AnyConnection,
    student_id: &str,
    statuses: &[&str],
) -> AppResult<Vec<(String, NeverRelease)>> {
    Ok(pickup_blocks::table
        .filter(pickup_blocks::student_id.eq(student_id))
        .filter(pickup_blocks::lifted_at.is_null())
        .filter(pickup_blocks::status.eq_any(statuses))
        .select((
            pickup_blocks::status,
            pickup_blocks::id,
            pickup_blocks::name,
            pickup_blocks::phone,
            pickup_blocks::id_last4,
        ))
        .load::<(String, String, String, Option<String>, Option<String>)>(conn)?
        .into_iter()
        // Normalised as read, not as stored: entries written under an older
        // normalisation still match.
        .map(|(status, id, name, phone, id_last4)| {
            let entry = NeverRelease {
                id,
                name_norm: normalise_name(&name),
                phone,
                id_last4,
            };
            (status, entry)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_match_by_normalised_name_phone_or_id_ending() {
        let b = NeverRelease {
            id: "b".into(),
            name_norm: normalise_name("Wang Jun"),
            phone: Some("139 0000 0009".into()),
            id_last4: Some("123X".into()),
        };
        let who = |n: Option<&str>, p: Option<&str>, i: Option<&str>| Identity {
            name: n.map(String::from),
            phone: p.map(String::from),
            id_last4: i.map(String::from),
        };
        assert!(b.names(&who(Some("WANG-jun"), None, None)));
        // Full-width letters (as a phone keyboard may type them) are the same name.
        assert!(b.names(&who(Some("Ｗａｎｇ Ｊｕｎ"), None, None)));
        assert!(b.names(&who(Some("x"), Some("+86 13900000009"), None)));
        assert!(b.names(&who(None, None, Some("123X"))));
        assert!(!b.names(&who(Some("Wang Juan"), Some("13900000008"), Some("1234"))));
        assert!(!b.names(&who(None, Some("0009"), None)));
    }
}
