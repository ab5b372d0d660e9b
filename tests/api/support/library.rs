//! Everything the tests take from the library, in one place: when a path in
//! `src/` moves, this file changes and the tests do not. (The tip line's
//! client side, shared with `benches/loadtest.rs`, names its own in
//! `tipline_client.rs`.)

pub use safecampus::account::repo::device_token_hash;
pub use safecampus::app::{build as build_app, openapi_document, openapi_json};
pub use safecampus::attendance::{presence, Presence};
pub use safecampus::audit::{record as record_audit, AuditEvent};
pub use safecampus::cases::run_timer_worker as run_case_timers;
pub use safecampus::clock::{Clock, ManualClock};
pub use safecampus::config::Settings;
pub use safecampus::crypto::envelope::{self, Envelope};
pub use safecampus::crypto::{b64u, b64u_decode, hpke, random_bytes, sha256_hex};
pub use safecampus::db::{AnyConnection, Backend, DatabaseUrl, Db, POSTGRES_GROUP_WRITERS};
pub use safecampus::demo::bootstrap_admin;
pub use safecampus::error::{ApiError, AppResult, Code};
pub use safecampus::gate::run_gate_worker;
pub use safecampus::http::{IdempotencyKey, Idempotent};
pub use safecampus::leave::run_overdue_leave_worker;
pub use safecampus::limits::ManualTicks;
pub use safecampus::notify::outbox::{claim as claim_outbox, deliver as deliver_outbox};
pub use safecampus::notify::{run_escalation, run_outbox};
pub use safecampus::org::run_departures_worker;
pub use safecampus::pickup::repo::{pass_code_hash, qr_token_hash};
pub use safecampus::pickup::run_late_pickup_worker;
pub use safecampus::privacy::{run_due_worker as run_data_requests_due, run_retention};
pub use safecampus::state::AppState;
pub use safecampus::tipline::pow;
pub use safecampus::tipline::receipt::Receipt;
pub use safecampus::tipline::service::sweep_orphan_blobs;
pub use safecampus::tipline::{run_deadline_worker, run_window_worker};
pub use safecampus::vetting::run_reminder_worker as run_vetting_reminders;
pub use safecampus::vetting::start_grace;
pub use safecampus::workers::housekeeping;
