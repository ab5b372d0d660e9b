//! One typed configuration, read once from the environment.

use crate::db::DatabaseUrl;
use std::collections::HashMap;

pub const MIN_SECRET_LEN: usize = 32;

#[derive(Clone, Debug)]
pub struct Settings {
    pub bind: String,
    pub database: DatabaseUrl,
    /// Where sealed tip-line attachments are kept, one file each
    /// (`SAFECAMPUS_BLOB_DIR`; by default beside the SQLite file). With
    /// PostgreSQL and several instances: shared storage, backed up with the
    /// database.
    pub blob_dir: std::path::PathBuf,
    pub production: bool,
    /// The current signing secret first, then retired ones still accepted.
    pub jwt_secrets: Vec<Vec<u8>>,
    pub receipt_pepper: Vec<u8>,
    /// Keys the audit chain's links (kept outside the database).
    pub audit_key: Vec<u8>,
    pub access_token_ttl_secs: i64,
    pub refresh_token_ttl_days: i64,
    pub db_pool_size: u32,
    /// How long a request waits for a database connection or SQLite's write
    /// lock before it is answered 503.
    pub db_timeout: std::time::Duration,
    /// The longest a request waits on the database in all before 503.
    pub db_request_timeout: std::time::Duration,
    pub workers: usize,
    /// Group-commit writers on PostgreSQL (`SAFECAMPUS_DB_GROUP_WRITERS`,
    /// 3 by default; SQLite always has one).
    pub db_group_writers: usize,
    /// Whether session checks are answered from memory between writes
    /// (`SAFECAMPUS_SESSION_CACHE`, on by default; turn it off when several
    /// nodes share one database, see `sessions`).
    pub session_cache: bool,
    /// Concurrent password hashes at most (each takes 19 MiB and ~30 ms).
    pub password_hash_concurrency: usize,
    /// External delivery (see `notify::channels`): SMTP for email, an HTTP
    /// webhook for push and SMS gateways. A channel without configuration
    /// is skipped.
    pub smtp_url: Option<String>,
    pub smtp_from: String,
    pub push_webhook_url: Option<String>,
    pub push_webhook_secret: Vec<u8>,
    /// A notice that needs acknowledgement is re-sent to those who have not
    /// read it this many hours before it is due.
    pub notice_escalate_hours: i64,
    /// Delivery attempts before an outbox row is dead.
    pub outbox_max_attempts: i32,
    /// Visit logs older than this many days are purged, unless a case refers to them.
    pub visit_retention_days: i64,
    pub retention: RetentionSettings,
    pub leave: LeavePolicy,
    pub tipline: TiplineSettings,
    pub vetting: VettingSettings,
    pub cases: CaseSettings,
}

/// How long each kind of data is kept, in days (issue 18 §2); the daily
/// retention job purges what is past its time. Tip-line reports, cases and
/// the audit chain are never purged, and a pupil's data stays while a case
/// about them is open (legal hold). Visit logs: `visit_retention_days`.
#[derive(Clone, Debug)]
pub struct RetentionSettings {
    /// Refresh tokens after they expire, and ended sessions after they end.
    pub sessions_days: i64,
    /// In-app notifications (not notices, whose receipts measure coverage).
    pub notifications_days: i64,
    /// Outbox rows (by then delivered, skipped or dead).
    pub outbox_days: i64,
    /// Handovers at the gate.
    pub handovers_days: i64,
    /// Roll calls and absences.
    pub attendance_days: i64,
    /// Leave requests, counted from their end.
    pub leave_days: i64,
    /// Pickup persons' photos, counted from the end of their authorisation
    /// (the entry itself stays for the handovers that name it).
    pub photos_days: i64,
}

/// Cases' timers: how long after opening a mandatory case without a police
/// report alerts the principal and the bureau (and again, later), and when
/// the bureau's acknowledgement is due.
#[derive(Clone, Debug)]
pub struct CaseSettings {
    pub police_alert_minutes: i64,
    pub police_second_alert_minutes: i64,
    pub ack_hours: i64,
}

/// Staff vetting: how long a clear check stands, the grace period of
/// accounts that existed before vetting, and the key that hashes ID numbers.
#[derive(Clone, Debug)]
pub struct VettingSettings {
    pub valid_months: u32,
    pub grace_days: i64,
    pub id_number_key: Vec<u8>,
}

/// The tip line's abuse limits and deadlines.
#[derive(Clone, Debug)]
pub struct TiplineSettings {
    /// Leading zero bits a proof of work needs when submissions are calm.
    pub pow_difficulty: u32,
    pub pow_ttl_secs: i64,
    /// Reports in the last 10 minutes above which the difficulty rises by
    /// one bit per doubling.
    pub pow_surge_reports: i64,
    /// Wrong receipts per minute, all senders together, before follow-up pauses.
    pub receipt_failures_per_minute: i64,
    /// Attachment bodies (up to 15 MiB each) read at once; past it a
    /// reporter is answered 503 `attachments_busy` with Retry-After.
    pub attachment_concurrency: usize,
    /// Bytes of attachments a district may store per day (UTC) before 507
    /// `attachment_quota_full`.
    pub attachment_quota_bytes: i64,
    /// Units of anonymous work a second, all anonymous callers together: a
    /// request costs 1 plus 1 per MiB it declares (`limits::Budget`).
    pub anonymous_budget: u32,
    /// The share of that budget only submissions and follow-ups may spend.
    pub anonymous_reserve_percent: u32,
    pub urgent_deadline_mins: i64,
    pub normal_deadline_mins: i64,
    /// School days (Monday to Friday at the school) an acknowledged report
    /// has to reach `investigating`.
    pub investigation_school_days: i64,
    /// Days a report under investigation (or referred, or resolved and
    /// waiting for the bureau) may go without a progress note.
    pub progress_note_days: i64,
}

/// The rules of leave and attendance that a district may tune.
#[derive(Clone, Debug)]
pub struct LeavePolicy {
    /// The longest leave one request may cover, in days.
    pub max_days: i64,
    /// A leave of more school days than this also needs the school admin.
    pub school_approval_days: i64,
    /// Minutes after an overdue alert that the school admin is alerted too.
    pub overdue_escalation_minutes: i64,
    /// Unexcused absences (school days) within the window that raise a concern.
    pub concern_absences: i64,
    pub concern_window_days: i64,
}

impl Default for LeavePolicy {
    fn default() -> Self {
        LeavePolicy {
            max_days: 30,
            school_approval_days: 3,
            overdue_escalation_minutes: 120,
            concern_absences: 3,
            concern_window_days: 14,
        }
    }
}

/// 2 GiB a district a day: some 200 maximal attachments.
pub const DEFAULT_ATTACHMENT_QUOTA_BYTES: i64 = 2 << 30;

/// Beside the SQLite file (`school.db` → `school.db.blobs`); for PostgreSQL
/// in development, `safecampus-blobs` in the working directory.
fn default_blob_dir(database_url: &str, backend: crate::db::Backend) -> std::path::PathBuf {
    if backend == crate::db::Backend::Postgres {
        return "safecampus-blobs".into();
    }
    let path = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
        .unwrap_or(database_url);
    format!("{path}.blobs").into()
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl Settings {
    /// Reads `SAFECAMPUS_*` and `DATABASE_URL`. In production a missing or
    /// short secret is an error; elsewhere a random one is made for this run.
    pub fn from_env() -> Result<Settings, ConfigError> {
        let vars: HashMap<String, String> = std::env::vars().collect();
        Self::from_map(&vars)
    }

    pub fn from_map(vars: &HashMap<String, String>) -> Result<Settings, ConfigError> {
        let get = |k: &str| {
            vars.get(k)
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        };
        let production = match get("SAFECAMPUS_ENV").as_deref() {
            None | Some("development") | Some("test") => false,
            Some("production") => true,
            Some(other) => {
                return Err(ConfigError(format!(
                    "SAFECAMPUS_ENV must be development or production, not {other:?}"
                )))
            }
        };
        let secret = |name: &str| -> Result<Vec<u8>, ConfigError> {
            match get(name) {
                Some(s) if s.len() >= MIN_SECRET_LEN => Ok(s.into_bytes()),
                Some(_) if production => Err(ConfigError(format!(
                    "{name} must be at least {MIN_SECRET_LEN} characters in production"
                ))),
                None if production => Err(ConfigError(format!(
                    "{name} is required in production (at least {MIN_SECRET_LEN} random characters)"
                ))),
                _ => {
                    tracing::warn!(
                        "{name} is missing or short: using a random development secret for this run only"
                    );
                    Ok(crate::crypto::random_bytes(32))
                }
            }
        };
        let mut jwt_secrets = vec![secret("SAFECAMPUS_JWT_SECRET")?];
        if let Some(previous) = get("SAFECAMPUS_JWT_PREVIOUS_SECRETS") {
            for s in previous.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                if s.len() < MIN_SECRET_LEN {
                    return Err(ConfigError(
                        "every SAFECAMPUS_JWT_PREVIOUS_SECRETS entry must be at least 32 characters"
                            .into(),
                    ));
                }
                jwt_secrets.push(s.as_bytes().to_vec());
            }
        }
        let receipt_pepper = secret("SAFECAMPUS_RECEIPT_PEPPER")?;
        let id_number_key = secret("SAFECAMPUS_ID_NUMBER_KEY")?;
        let audit_key = secret("SAFECAMPUS_AUDIT_KEY")?;
        let database_url =
            get("DATABASE_URL").unwrap_or_else(|| "sqlite://safecampus.db".to_string());
        let database = DatabaseUrl::parse(&database_url).map_err(ConfigError)?;
        let blob_dir = match get("SAFECAMPUS_BLOB_DIR") {
            Some(dir) => std::path::PathBuf::from(dir),
            None if database.backend == crate::db::Backend::Postgres && production => {
                return Err(ConfigError(
                    "SAFECAMPUS_BLOB_DIR is required with PostgreSQL in production: a directory every instance shares".into(),
                ))
            }
            None => default_blob_dir(&database_url, database.backend),
        };
        let number = |name: &str, default: i64, min: i64, max: i64| -> Result<i64, ConfigError> {
            match get(name) {
                None => Ok(default),
                Some(s) => match s.parse::<i64>() {
                    Ok(n) if (min..=max).contains(&n) => Ok(n),
                    _ => Err(ConfigError(format!(
                        "{name} must be a number from {min} to {max}"
                    ))),
                },
            }
        };
        let smtp_url = get("SAFECAMPUS_SMTP_URL");
        if let Some(url) = &smtp_url {
            lettre::SmtpTransport::from_url(url).map_err(|_| {
                ConfigError(
                    "SAFECAMPUS_SMTP_URL must be smtp://host:port (add ?tls=required for STARTTLS) or smtps://host:port".into(),
                )
            })?;
        }
        let smtp_from = get("SAFECAMPUS_SMTP_FROM")
            .unwrap_or_else(|| "SafeCampus <no-reply@safecampus.invalid>".to_string());
        if smtp_from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(ConfigError(
                "SAFECAMPUS_SMTP_FROM must be an address such as SafeCampus <no-reply@school.example>".into(),
            ));
        }
        let push_webhook_url = get("SAFECAMPUS_PUSH_WEBHOOK_URL");
        if let Some(url) = &push_webhook_url {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(ConfigError(
                    "SAFECAMPUS_PUSH_WEBHOOK_URL must be an http(s):// URL".into(),
                ));
            }
            if production && !url.starts_with("https://") {
                return Err(ConfigError(
                    "SAFECAMPUS_PUSH_WEBHOOK_URL must use https in production".into(),
                ));
            }
        }
        let push_webhook_secret = match (get("SAFECAMPUS_PUSH_WEBHOOK_SECRET"), &push_webhook_url) {
            (Some(s), _) if s.len() >= MIN_SECRET_LEN => s.into_bytes(),
            (_, Some(_)) => {
                return Err(ConfigError(format!(
                    "SAFECAMPUS_PUSH_WEBHOOK_SECRET (at least {MIN_SECRET_LEN} characters) is required with SAFECAMPUS_PUSH_WEBHOOK_URL"
                )))
            }
            _ => Vec::new(),
        };
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        Ok(Settings {
            bind: get("SAFECAMPUS_BIND").unwrap_or_else(|| "127.0.0.1:8080".to_string()),
            database,
            blob_dir,
            production,
            jwt_secrets,
            receipt_pepper,
            audit_key,
            access_token_ttl_secs: number("SAFECAMPUS_ACCESS_TOKEN_TTL_SECS", 900, 60, 900)?,
            refresh_token_ttl_days: number("SAFECAMPUS_REFRESH_TOKEN_TTL_DAYS", 30, 1, 90)?,
            db_pool_size: number("SAFECAMPUS_DB_POOL_SIZE", 10, 1, 200)? as u32,
            db_group_writers: number(
                "SAFECAMPUS_DB_GROUP_WRITERS",
                crate::db::POSTGRES_GROUP_WRITERS as i64,
                1,
                16,
            )? as usize,
            db_timeout: std::time::Duration::from_millis(number(
                "SAFECAMPUS_DB_TIMEOUT_MS",
                5000,
                100,
                60_000,
            )? as u64),
            db_request_timeout: std::time::Duration::from_millis(number(
                "SAFECAMPUS_DB_REQUEST_TIMEOUT_MS",
                30_000,
                100,
                600_000,
            )? as u64),
            workers: number("SAFECAMPUS_WORKERS", cores as i64, 1, 64)? as usize,
            session_cache: match get("SAFECAMPUS_SESSION_CACHE").as_deref() {
                None | Some("on") => true,
                Some("off") => false,
                Some(other) => {
                    return Err(ConfigError(format!(
                        "SAFECAMPUS_SESSION_CACHE must be on or off, not {other:?}"
                    )))
                }
            },
            password_hash_concurrency: number(
                "SAFECAMPUS_PASSWORD_HASH_CONCURRENCY",
                cores.clamp(1, 4) as i64,
                1,
                64,
            )? as usize,
            leave: LeavePolicy {
                max_days: number("SAFECAMPUS_LEAVE_MAX_DAYS", 30, 1, 365)?,
                school_approval_days: number("SAFECAMPUS_LEAVE_SCHOOL_APPROVAL_DAYS", 3, 0, 365)?,
                overdue_escalation_minutes: number(
                    "SAFECAMPUS_LEAVE_OVERDUE_ESCALATION_MINUTES",
                    120,
                    1,
                    24 * 60,
                )?,
                concern_absences: number("SAFECAMPUS_CONCERN_ABSENCES", 3, 1, 100)?,
                concern_window_days: number("SAFECAMPUS_CONCERN_WINDOW_DAYS", 14, 1, 366)?,
            },
            smtp_url,
            smtp_from,
            push_webhook_url,
            push_webhook_secret,
            notice_escalate_hours: number("SAFECAMPUS_NOTICE_ESCALATE_HOURS", 24, 1, 24 * 14)?,
            outbox_max_attempts: number("SAFECAMPUS_OUTBOX_MAX_ATTEMPTS", 8, 1, 50)? as i32,
            visit_retention_days: number("SAFECAMPUS_VISIT_RETENTION_DAYS", 180, 1, 3650)?,
            retention: RetentionSettings {
                sessions_days: number("SAFECAMPUS_RETENTION_SESSIONS_DAYS", 30, 1, 3650)?,
                notifications_days: number(
                    "SAFECAMPUS_RETENTION_NOTIFICATIONS_DAYS",
                    365,
                    1,
                    3650,
                )?,
                outbox_days: number("SAFECAMPUS_RETENTION_OUTBOX_DAYS", 30, 1, 3650)?,
                handovers_days: number("SAFECAMPUS_RETENTION_HANDOVERS_DAYS", 365, 1, 3650)?,
                attendance_days: number("SAFECAMPUS_RETENTION_ATTENDANCE_DAYS", 1095, 1, 3650)?,
                leave_days: number("SAFECAMPUS_RETENTION_LEAVE_DAYS", 1095, 1, 3650)?,
                photos_days: number("SAFECAMPUS_RETENTION_PHOTOS_DAYS", 30, 1, 3650)?,
            },
            vetting: VettingSettings {
                valid_months: number("SAFECAMPUS_VETTING_VALID_MONTHS", 12, 1, 60)? as u32,
                grace_days: number("SAFECAMPUS_VETTING_GRACE_DAYS", 30, 0, 365)?,
                id_number_key,
            },
            cases: CaseSettings {
                police_alert_minutes: number(
                    "SAFECAMPUS_CASE_POLICE_ALERT_MINUTES",
                    60,
                    1,
                    24 * 60,
                )?,
                police_second_alert_minutes: number(
                    "SAFECAMPUS_CASE_POLICE_SECOND_ALERT_MINUTES",
                    24 * 60,
                    1,
                    7 * 24 * 60,
                )?,
                ack_hours: number("SAFECAMPUS_CASE_ACK_HOURS", 24, 1, 24 * 7)?,
            },
            tipline: TiplineSettings {
                pow_difficulty: number("SAFECAMPUS_POW_DIFFICULTY", 18, 0, 28)? as u32,
                pow_ttl_secs: number("SAFECAMPUS_POW_TTL_SECS", 300, 30, 3600)?,
                pow_surge_reports: number("SAFECAMPUS_POW_SURGE_REPORTS", 50, 1, 1_000_000)?,
                receipt_failures_per_minute: number(
                    "SAFECAMPUS_RECEIPT_FAILURES_PER_MINUTE",
                    120,
                    1,
                    1_000_000,
                )?,
                attachment_concurrency: number(
                    "SAFECAMPUS_TIPLINE_ATTACHMENT_CONCURRENCY",
                    4,
                    1,
                    256,
                )? as usize,
                attachment_quota_bytes: number(
                    "SAFECAMPUS_TIPLINE_ATTACHMENT_QUOTA_BYTES",
                    DEFAULT_ATTACHMENT_QUOTA_BYTES,
                    1,
                    1 << 40,
                )?,
                anonymous_budget: number("SAFECAMPUS_TIPLINE_ANONYMOUS_BUDGET", 40, 1, 1_000_000)?
                    as u32,
                anonymous_reserve_percent: number(
                    "SAFECAMPUS_TIPLINE_ANONYMOUS_RESERVE_PERCENT",
                    25,
                    0,
                    90,
                )? as u32,
                urgent_deadline_mins: number(
                    "SAFECAMPUS_TIPLINE_URGENT_DEADLINE_MINS",
                    60,
                    1,
                    10_080,
                )?,
                normal_deadline_mins: number(
                    "SAFECAMPUS_TIPLINE_NORMAL_DEADLINE_MINS",
                    1440,
                    1,
                    10_080,
                )?,
                investigation_school_days: number(
                    "SAFECAMPUS_TIPLINE_INVESTIGATION_SCHOOL_DAYS",
                    3,
                    1,
                    30,
                )?,
                progress_note_days: number("SAFECAMPUS_TIPLINE_PROGRESS_NOTE_DAYS", 14, 1, 90)?,
            },
        })
    }
}
