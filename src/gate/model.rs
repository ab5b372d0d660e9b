//! The gate's rows.

use crate::db::schema::{visits, watch_list};
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = visits)]
pub struct VisitRow {
    pub id: String,
    pub school_id: String,
    pub host_user_id: String,
    pub visitor_name: String,
    pub visitor_phone: String,
    pub id_last4: Option<String>,
    pub id_hmac: Option<String>,
    pub purpose: String,
    pub vehicle_plate: Option<String>,
    pub window_from: NaiveDateTime,
    pub window_until: NaiveDateTime,
    pub code_hash: Option<String>,
    pub walk_in: bool,
    pub status: String,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub decided_by: Option<String>,
    pub decided_at: Option<NaiveDateTime>,
    pub checked_in_at: Option<NaiveDateTime>,
    pub checked_in_by: Option<String>,
    pub checked_out_at: Option<NaiveDateTime>,
    pub checked_out_by: Option<String>,
    pub overstay_alerted_at: Option<NaiveDateTime>,
    pub case_id: Option<String>,
}

#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = watch_list)]
pub struct WatchRow {
    pub id: String,
    pub district_id: String,
    pub school_id: Option<String>,
    pub personnel_id: Option<String>,
    pub name: String,
    pub id_last4: Option<String>,
    pub id_hmac: Option<String>,
    pub reason: String,
    pub created_at: NaiveDateTime,
    pub phone: Option<String>,
    pub plate: Option<String>,
    pub note: Option<String>,
    pub created_by: Option<String>,
    pub lifted_at: Option<NaiveDateTime>,
    pub lifted_by: Option<String>,
    pub lift_note: Option<String>,
}
