//! Pickup's database rows, and how each shows in the API.

use super::dto::*;
use crate::clock::to_utc;
use crate::dates::LocalDate;
use crate::db::schema::{handovers, pickup_blocks, pickup_passes, pickup_persons};
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

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
    pub valid_from: LocalDate,
    pub valid_until: LocalDate,
    pub weekdays: i32,
    pub created_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
}

impl PersonRow {
    pub fn valid_on(&self, date: NaiveDate) -> bool {
        let d = LocalDate(date);
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
            valid_from: self.valid_from.date(),
            valid_until: self.valid_until.date(),
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

/// A new pickup person, as written.
pub struct NewPersonRow<'a> {
    pub id: &'a str,
    pub student_id: &'a str,
    pub name: &'a str,
    pub relation: &'a str,
    pub phone: &'a str,
    pub id_last4: Option<&'a str>,
    pub photo: Option<Photo>,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
    pub weekdays: i32,
    pub created_by: &'a str,
    pub created_at: NaiveDateTime,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = pickup_blocks)]
pub struct BlockRow {
    pub id: String,
    pub student_id: String,
    pub name: String,
    pub phone: Option<String>,
    pub id_last4: Option<String>,
    pub note: String,
    pub court_order: bool,
    pub created_at: NaiveDateTime,
    pub lifted_at: Option<NaiveDateTime>,
    pub lift_note: Option<String>,
    pub status: String,
    pub confirmed_at: Option<NaiveDateTime>,
    pub court_order_ref: Option<String>,
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
            status: BlockStatus::parse(&self.status).unwrap_or(BlockStatus::Active),
            court_order_ref: self.court_order_ref,
            confirmed_at: self.confirmed_at.map(to_utc),
            created_at: to_utc(self.created_at),
            lifted_at: self.lifted_at.map(to_utc),
            lift_note: self.lift_note,
        }
    }
}

/// A new never-release entry, as written.
pub struct NewBlockRow<'a> {
    pub id: &'a str,
    pub student_id: &'a str,
    pub name: &'a str,
    pub name_norm: &'a str,
    pub phone: Option<&'a str>,
    pub id_last4: Option<&'a str>,
    pub note: &'a str,
    pub court_order: bool,
    pub created_by: &'a str,
    pub created_at: NaiveDateTime,
    pub status: &'a str,
    pub court_order_ref: Option<&'a str>,
    /// Set when the school admin records, and so confirms, an entry naming a guardian.
    pub confirmed_by: Option<&'a str>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = pickup_passes)]
pub struct PassRow {
    pub id: String,
    pub student_id: String,
    pub pickup_person_id: Option<String>,
    pub valid_on: LocalDate,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
    pub cancelled_at: Option<NaiveDateTime>,
}

impl PassRow {
    pub fn into_dto(self) -> PickupPass {
        PickupPass {
            valid_on: self.valid_on.date(),
            expires_at: to_utc(self.expires_at),
            used_at: self.used_at.map(to_utc),
            cancelled_at: self.cancelled_at.map(to_utc),
            pass_id: self.id,
            student_id: self.student_id,
            pickup_person_id: self.pickup_person_id,
        }
    }
}

/// A new pass, as written: its secrets only as hashes.
pub struct NewPassRow<'a> {
    pub id: &'a str,
    pub student_id: &'a str,
    pub pickup_person_id: Option<&'a str>,
    pub valid_on: NaiveDate,
    pub code_hash: String,
    pub qr_token_hash: String,
    pub expires_at: NaiveDateTime,
    pub issued_by: &'a str,
    pub created_at: NaiveDateTime,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = handovers)]
pub struct HandoverRow {
    pub id: String,
    pub student_id: String,
    pub class_id: String,
    pub local_date: LocalDate,
    pub adult_kind: String,
    pub pickup_person_id: Option<String>,
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
                kind: AdultKind::parse(&self.adult_kind).unwrap_or(AdultKind::Pass),
                name: self.released_name,
                relation: self.released_relation,
                photo_url,
            },
            at: to_utc(self.at),
            date: self.local_date.date(),
            status: "released".into(),
            released_by: self.released_by,
            confirmed_at: self.confirmed_at.map(to_utc),
            disputed_at: self.disputed_at.map(to_utc),
            cases: None,
        }
    }
}

/// A release, as written.
pub struct NewHandoverRow<'a> {
    pub id: &'a str,
    pub student_id: &'a str,
    pub school_id: &'a str,
    pub class_id: &'a str,
    pub local_date: NaiveDate,
    pub adult_kind: AdultKind,
    pub guardian_user_id: Option<&'a str>,
    pub pickup_person_id: Option<&'a str>,
    pub pass_id: Option<&'a str>,
    pub released_name: &'a str,
    pub released_relation: &'a str,
    pub released_by: &'a str,
    pub at: NaiveDateTime,
}

impl NewHandoverRow<'_> {
    /// The row as just written, without reading it back.
    pub fn written(&self) -> HandoverRow {
        HandoverRow {
            id: self.id.to_string(),
            student_id: self.student_id.to_string(),
            class_id: self.class_id.to_string(),
            local_date: LocalDate(self.local_date),
            adult_kind: self.adult_kind.as_str().to_string(),
            pickup_person_id: self.pickup_person_id.map(str::to_string),
            released_name: self.released_name.to_string(),
            released_relation: self.released_relation.to_string(),
            released_by: self.released_by.to_string(),
            at: self.at,
            confirmed_at: None,
            disputed_at: None,
        }
    }
}

/// A school's override of its dismissal time: (weekday 1–7, grade, "HH:MM").
pub type DismissalOverride = (Option<i32>, Option<i32>, String);
