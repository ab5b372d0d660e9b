//! Oversight: the summary per school, the reminders before a clearance
//! ends, and the grace period of accounts older than vetting.

use super::{school_today, today, views};
use crate::auth::Caller;
use crate::db::AnyConnection;
use crate::error::AppResult;
use crate::notify::{self, Category, Template};
use crate::vetting::dto::*;
use crate::vetting::repo;
use crate::vetting::rules;
use chrono::{DateTime, SubsecRound, Utc};
use std::collections::HashMap;

/// Per school the caller sees: how many people stand where.
pub fn summary(
    conn: &mut AnyConnection,
    now: DateTime<Utc>,
    caller: &Caller,
    months: u32,
) -> AppResult<VettingSummary> {
    let rows = repo::all_in_scope(conn, caller)?;
    let names: HashMap<String, String> = rows
        .iter()
        .map(|r| r.school_id.clone())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .filter_map(|s| {
            repo::school_in_district(conn, &caller.district_id, &s)
                .transpose()
                .map(|r| r.map(|(name, _)| (s, name)))
        })
        .collect::<AppResult<_>>()?;
    let zones = repo::timezones(conn, &names.keys().cloned().collect::<Vec<_>>())?;
    let mut per: std::collections::BTreeMap<String, SchoolVetting> = Default::default();
    for p in views(conn, rows, months, now)? {
        let s = per
            .entry(p.school_id.clone())
            .or_insert_with(|| SchoolVetting {
                school_id: p.school_id.clone(),
                school_name: names.get(&p.school_id).cloned().unwrap_or_default(),
                ..SchoolVetting::default()
            });
        s.total += 1;
        match p.vetting.status {
            VettingStatus::Cleared => {
                s.cleared += 1;
                let tz = zones.get(&p.school_id).map_or("", |z| z.as_str());
                let left = p
                    .vetting
                    .valid_until
                    .map(|u| (u - today(now, tz)).num_days());
                if left.is_some_and(|d| d <= 30) {
                    s.expiring_within_30_days += 1;
                }
            }
            VettingStatus::Grace => s.grace += 1,
            VettingStatus::Pending => s.pending += 1,
            VettingStatus::Expired => s.expired += 1,
            VettingStatus::Barred => s.barred += 1,
        }
    }
    Ok(VettingSummary {
        schools: per.into_values().collect(),
    })
}

/// Reminds the principal and the bureau 30 and 7 days before a clearance
/// ends (once each). At the end, access stops by itself: the extractor
/// compares the stored end with the clock.
pub fn run_reminder_worker(state: &crate::state::AppState) -> AppResult<usize> {
    let now_utc = state.now();
    let now = now_utc.trunc_subsecs(6).naive_utc();
    let months = state.settings.vetting.valid_months;
    state.db.write_blocking(|conn| {
        let horizon = now + chrono::Duration::days(32);
        let rows = repo::access_ending_before(conn, now, horizon)?;
        let facts = repo::facts(conn, &rows)?;
        let mut sent = 0;
        for r in rows {
            let Some(clear) = facts[&r.id].last_clear.filter(|_| !facts[&r.id].hit) else {
                continue;
            };
            let until = rules::valid_until(clear, months);
            let today = school_today(conn, &r, now_utc)?;
            let Some(days) = rules::reminder_due(until, today) else {
                continue;
            };
            if !repo::mark_reminded(conn, &r.id, &until.to_string(), days, now)? {
                continue;
            }
            let to = repo::alert_recipients(conn, &r.district_id, &r.school_id)?;
            notify::send(
                conn,
                now,
                &to,
                Template::VettingExpiring,
                serde_json::json!({
                    "name": r.name,
                    "personnel_id": r.id,
                    "valid_until": until.to_string(),
                    "days": days,
                }),
                Category::Account,
            )?;
            sent += 1;
        }
        Ok(sent)
    })
}

/// Accounts that existed before vetting start their grace period: at the
/// first start of the service after the migration, on the service's clock.
pub fn start_grace(state: &crate::state::AppState) -> AppResult<usize> {
    let now = state.now_db();
    let until = now + chrono::Duration::days(state.settings.vetting.grace_days);
    state
        .db
        .write_blocking(|conn| repo::start_grace(conn, until))
}
