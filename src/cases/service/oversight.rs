//! Oversight: the timers (no police report 1 hour and 24 hours after
//! opening; the bureau's acknowledgement past due) and the district's
//! statistics with small cells suppressed.

use super::alert_data;
use crate::auth::Caller;
use crate::cases::dto::*;
use crate::cases::{repo, rules};
use crate::db::AnyConnection;
use crate::error::AppResult;
use crate::notify::{self, Category, Template};
use std::collections::{BTreeMap, BTreeSet};

/// One pass of the timers: each alert goes out once per case. The police
/// alerts go to the principal and the bureau, the acknowledgement alert to
/// the bureau (its feed). Alerts carry the case number and school only.
pub fn run_timer_worker(state: &crate::state::AppState) -> AppResult<usize> {
    let now = state.now_db();
    let s = state.settings.cases.clone();
    state.db.write_blocking(|conn| {
        let mut sent = 0;
        for row in repo::awaiting_police(conn)? {
            for (kind, hours) in rules::police_alerts_due(
                row.opened_at,
                now,
                s.police_alert_minutes,
                s.police_second_alert_minutes,
            ) {
                if !repo::mark_alert(conn, &row.id, kind, now)? {
                    continue;
                }
                let mut to: BTreeSet<String> =
                    crate::org::family::school_admins(conn, &row.school_id)?
                        .into_iter()
                        .collect();
                to.extend(repo::bureau(conn, &row.district_id)?);
                if let Some(s) = &row.suspect_user_id {
                    to.remove(s);
                }
                let mut data = alert_data(conn, &row)?;
                data["hours"] = serde_json::json!(hours);
                let to: Vec<String> = to.into_iter().collect();
                notify::send(
                    conn,
                    now,
                    &to,
                    Template::CasePoliceOverdue,
                    data,
                    Category::Urgent,
                )?;
                sent += 1;
            }
        }
        for row in repo::awaiting_acknowledgement(conn, now)? {
            if !repo::mark_alert(conn, &row.id, "ack_overdue", now)? {
                continue;
            }
            let to = repo::bureau(conn, &row.district_id)?;
            let data = alert_data(conn, &row)?;
            notify::send(
                conn,
                now,
                &to,
                Template::CaseAckOverdue,
                data,
                Category::Urgent,
            )?;
            sent += 1;
        }
        Ok(sent)
    })
}

/// The district's counts per school, category and status; a cell under 5
/// is suppressed (its count is null).
pub fn summary(conn: &mut AnyConnection, caller: &Caller) -> AppResult<CaseSummary> {
    let mut counts: BTreeMap<(String, String, String), i64> = BTreeMap::new();
    for key in repo::district_cells(conn, &caller.district_id)? {
        *counts.entry(key).or_default() += 1;
    }
    let cells = counts
        .into_iter()
        .filter_map(|((school_id, category, status), n)| {
            let count = rules::shown(n);
            Some(SummaryCell {
                school_id,
                category: CaseCategory::parse(&category)?,
                status: CaseStatus::parse(&status)?,
                suppressed: count.is_none(),
                count,
            })
        })
        .collect();
    Ok(CaseSummary { cells })
}
