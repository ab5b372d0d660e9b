//! The dormitories' pure rules: who may work in and live in which
//! dormitory, and when a man's entry into a girls' dormitory is an incident.

use crate::error::{ApiError, Code};
use crate::org::dto::Sex;

crate::text_enum!(
    pub enum DormKind {
        Girls = "girls",
        Boys = "boys",
    }
);

/// Only female staff work in a girls' dormitory; a sex not on record is not
/// female.
pub fn may_work_in(kind: DormKind, sex: Option<Sex>) -> Result<(), ApiError> {
    match (kind, sex) {
        (DormKind::Girls, Some(Sex::Female)) | (DormKind::Boys, _) => Ok(()),
        (DormKind::Girls, _) => Err(ApiError::new(
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            Code::DormStaffSex,
            "only female staff (sex recorded as female) can be assigned to a girls' dormitory",
        )
        .with_field("user_id")),
    }
}

/// Only a girl lives in a girls' dormitory, only a boy in a boys'.
pub fn may_live_in(kind: DormKind, sex: Option<Sex>) -> bool {
    matches!(
        (kind, sex),
        (DormKind::Girls, Some(Sex::Female)) | (DormKind::Boys, Some(Sex::Male))
    )
}

/// A man's entry is approved only when recorded beforehand by the school
/// admin or one of the dormitory's managers, with a reason; anything else
/// is an incident.
pub fn is_incident(by_approver: bool, reason: Option<&str>) -> bool {
    !(by_approver && reason.is_some_and(|r| !r.trim().is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_female_staff_work_in_a_girls_dormitory() {
        assert!(may_work_in(DormKind::Girls, Some(Sex::Female)).is_ok());
        let e = may_work_in(DormKind::Girls, Some(Sex::Male)).unwrap_err();
        assert_eq!(e.code, Code::DormStaffSex);
        assert!(may_work_in(DormKind::Girls, None).is_err());
        assert!(may_work_in(DormKind::Boys, Some(Sex::Male)).is_ok());
    }

    #[test]
    fn only_a_girl_lives_in_a_girls_dormitory() {
        assert!(may_live_in(DormKind::Girls, Some(Sex::Female)));
        assert!(!may_live_in(DormKind::Girls, Some(Sex::Male)));
        assert!(!may_live_in(DormKind::Girls, None));
        assert!(!may_live_in(DormKind::Boys, Some(Sex::Female)));
    }

    #[test]
    fn an_entry_without_approval_or_reason_is_an_incident() {
        assert!(!is_incident(true, Some("fixing the heating")));
        assert!(is_incident(true, None));
        assert!(is_incident(false, Some("fixing the heating")));
    }
}
