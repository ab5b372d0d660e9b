//! The tip line's request and response types, and its parsed values.

use crate::crypto::envelope::Envelope;
use crate::http::Text;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

crate::text_enum!(
    /// What a report is about.
    pub enum Category {
        SexualAbuse = "sexual_abuse",
        Harassment = "harassment",
        Bullying = "bullying",
        Violence = "violence",
        SelfHarm = "self_harm",
        Safety = "safety",
        Other = "other",
    }
);

crate::text_enum!(
    /// How soon someone must act.
    pub enum Urgency {
        Normal = "normal",
        Urgent = "urgent",
        DangerNow = "danger_now",
    }
);

crate::text_enum!(
    /// Where the handling of a report stands.
    pub enum Status {
        New = "new",
        Acknowledged = "acknowledged",
        Investigating = "investigating",
        ReferredToPolice = "referred_to_police",
        Resolved = "resolved",
        Closed = "closed",
    }
);

crate::text_enum!(
    /// How a closed report turned out.
    pub enum Outcome {
        Valid = "valid",
        False = "false",
        Misuse = "misuse",
        Duplicate = "duplicate",
    }
);

crate::text_enum!(
    /// What the reporter sees of the handling.
    pub enum Progress {
        Received = "received",
        Acknowledged = "acknowledged",
        BeingHandled = "being_handled",
        Closed = "closed",
    }
);

crate::text_enum!(
    /// Who wrote a message.
    pub enum Sender {
        Reporter = "reporter",
        School = "school",
    }
);

impl Status {
    pub fn progress(self) -> Progress {
        match self {
            Status::New => Progress::Received,
            Status::Acknowledged => Progress::Acknowledged,
            Status::Investigating | Status::ReferredToPolice | Status::Resolved => {
                Progress::BeingHandled
            }
            Status::Closed => Progress::Closed,
        }
    }
}

// --- keys and mailboxes ------------------------------------------------------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutEncryptionKey {
    /// base64url (no padding) of the 32-byte X25519 public key.
    pub public_key: String,
    /// An opaque blob (≤ 4 KiB) the app encrypted with the user's passphrase.
    pub key_backup: Option<String>,
    /// The account's password, asked again: a stolen session cannot replace
    /// the key.
    pub password: Text<128>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyBackupRequest {
    /// The account's password, asked again for every backup read.
    pub password: Text<128>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyBackup {
    pub key_id: String,
    pub key_backup: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyCreated {
    pub key_id: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MyEncryptionKey {
    pub key_id: String,
    pub public_key: String,
    /// Whether a backup is kept; read it with `POST /me/encryption-key/backup`.
    pub has_backup: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetRecipients {
    /// The school's staff (school admins, counsellors) who receive the mailbox.
    pub user_ids: Vec<String>,
}

crate::text_enum!(
    /// Where a proposed change of a mailbox's recipients stands.
    pub enum ChangeStatus {
        Pending = "pending",
        Approved = "approved",
        /// A later proposal for the same school replaced it.
        Superseded = "superseded",
    }
);

/// A proposed list of a school's mailbox recipients: it takes effect only
/// when a bureau officer approves it.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecipientChange {
    pub id: String,
    pub school_id: String,
    pub user_ids: Vec<String>,
    pub status: ChangeStatus,
    pub proposed_by: String,
    pub created_at: DateTime<Utc>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, Serialize, ToSchema, PartialEq, Eq)]
pub struct RecipientKey {
    pub key_id: String,
    pub public_key: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Mailbox {
    pub school_code: String,
    pub school_name: String,
    pub categories: Vec<Category>,
    /// Seal an ordinary report to every one of these.
    pub recipient_keys: Vec<RecipientKey>,
    /// Seal a `concerns_staff` report to these, and only these.
    pub district_keys: Vec<RecipientKey>,
    /// Shown by apps when urgency is `danger_now`.
    pub crisis_line: String,
    pub suite: SuiteInfo,
    /// The language of `windows[].trade_off`: the first of `Accept-Language`
    /// we have (zh-CN, en), else zh-CN.
    pub language: crate::i18n::Language,
    /// Each urgency's window, and its trade for the reporter to read
    /// before choosing.
    pub windows: Vec<UrgencyWindow>,
}

/// How long a report of an urgency (and each later message of its reporter)
/// waits before it reaches staff: windows are aligned on the clock, and each
/// is delivered as one batch in random order at its end, so no stored time
/// tells when within the window it was sent.
#[derive(Debug, Serialize, ToSchema)]
pub struct UrgencyWindow {
    pub urgency: Urgency,
    /// 60 (normal), 15 (urgent), 0 (danger_now: announced at once).
    pub window_minutes: i64,
    /// What the choice trades, in `language`, for the app to show.
    pub trade_off: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SuiteInfo {
    pub name: &'static str,
    pub mode: u8,
    pub kem_id: u16,
    pub kdf_id: u16,
    pub aead_id: u16,
    pub content_key_info: &'static str,
    pub reporter_key_salt: &'static str,
    pub padding_bucket: usize,
    /// v2: HKDF-SHA256 salt of the lookup token, from the phone's code.
    pub lookup_salt_v2: &'static str,
    /// v2: HKDF-SHA256 salt of the reporter's private key, from the code.
    pub reporter_key_salt_v2: &'static str,
    /// v2: `commit` = HMAC-SHA256(CK, this label).
    pub commit_label_v2: &'static str,
}

// --- anonymous submission and follow-up ----------------------------------------

#[derive(Debug, Serialize, ToSchema)]
pub struct Challenge {
    pub challenge: String,
    /// Leading zero bits SHA-256(challenge ‖ nonce) must have.
    pub difficulty: u32,
    pub expires_at: DateTime<Utc>,
}

/// `?school_code=`: the school the report will go to. Its challenge is
/// valid for that school only, and its difficulty counts that school's
/// recent reports; without it, every school's (a surge anywhere raises it).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ChallengeQuery {
    pub school_code: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProofOfWork {
    pub challenge: String,
    pub nonce: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlainReport {
    pub text: Text<20000>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReport {
    pub school_code: Text<32>,
    pub category: Category,
    pub urgency: Urgency,
    /// "This is about a teacher or someone at school": only the district's
    /// bureau receives it.
    #[serde(default)]
    pub concerns_staff: bool,
    /// The report sealed on the device. Exactly one of `envelope` and `plaintext`.
    pub envelope: Option<Envelope>,
    /// For a client that cannot seal: the server seals at once and keeps nothing else.
    pub plaintext: Option<PlainReport>,
    pub pow: Option<ProofOfWork>,
    /// v2: base64url of the 32-byte lookup token the phone derived from the
    /// code it made. With it, send `reporter_public_key` and a v2 envelope
    /// (`aad`, `commit`); the answer has no receipt. A retry with the same
    /// lookup and envelope gets the first answer; another envelope is 409.
    pub lookup: Option<String>,
    /// v2: base64url of the reporter's X25519 public key, derived from the code.
    pub reporter_public_key: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReportReceipt {
    /// v1 and the web form: shown once. Keep it: it is the only way back to
    /// this report. Absent for v2 (the phone made the code).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receipt: Option<String>,
    pub status: Progress,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FollowupRequest {
    /// v1: the receipt. Exactly one of `receipt` and `lookup`.
    pub receipt: Option<String>,
    /// v2: the lookup token (base64url), never the code.
    pub lookup: Option<String>,
    /// With `receipt` only (the web form, which trusts the server): return
    /// the school's replies decrypted.
    #[serde(default)]
    pub open: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Followup {
    pub status: Progress,
    /// Seal a new message to every one of these: the report's readers now
    /// (the district's alone once the bureau found the report concerns staff).
    pub recipient_keys: Vec<RecipientKey>,
    pub created_on: NaiveDate,
    pub messages: Vec<FollowupMessage>,
    pub attachments: Vec<FollowupMessage>,
    pub crisis_line: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FollowupMessage {
    pub id: String,
    /// The message's place in the report's thread (messages and attachments
    /// share one count, from 1): the true order of the conversation. 0 for
    /// the reporter's own message while it waits for the end of its window.
    pub seq: i32,
    pub from: Sender,
    pub envelope: Envelope,
    /// The day of its window's start.
    pub sent_on: NaiveDate,
    /// With `open: true`, a school reply's plaintext.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plaintext: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReporterMessage {
    /// Exactly one of `receipt` (v1) and `lookup` (v2).
    pub receipt: Option<String>,
    pub lookup: Option<String>,
    /// Sealed to every recipient key of the report (the staff view's
    /// `reply_keys` without `reporter`). Exactly one of `envelope` and `plaintext`.
    pub envelope: Option<Envelope>,
    /// For a client that cannot seal; the server seals at once.
    pub plaintext: Option<PlainReport>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReporterAttachment {
    /// The file, sealed like a message (no padding required). The report is
    /// named by a header, checked before this body is read:
    /// `X-Tipline-Lookup` (v2) or `X-Tipline-Receipt` (v1).
    pub envelope: Envelope,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessageCreated {
    pub id: String,
    pub sent_on: NaiveDate,
}

// --- staff ---------------------------------------------------------------------

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReportListQuery {
    pub status: Option<Status>,
    /// 1 to 100, default 20.
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReportSummary {
    pub id: String,
    pub school_id: String,
    pub school_name: String,
    pub category: Category,
    pub urgency: Urgency,
    pub status: Status,
    pub concerns_staff: bool,
    /// The creation time, to the hour only.
    pub created_hour: DateTime<Utc>,
    pub last_activity_at: DateTime<Utc>,
    pub unread: bool,
    /// A closure waits for a second person's confirmation.
    pub close_pending: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StaffMessage {
    pub id: String,
    /// The message's place in the report's thread (messages and attachments
    /// share one count, from 1): the true order of the conversation.
    pub seq: i32,
    pub from: Sender,
    /// The staff member, for school messages.
    pub author_id: Option<String>,
    pub envelope: Envelope,
    /// To the hour.
    pub sent_hour: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryEntry {
    pub action: String,
    pub status: Status,
    pub actor_id: Option<String>,
    pub note: Option<String>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CloseRequest {
    pub requested_by: String,
    pub outcome: Outcome,
    pub note: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReportDetail {
    #[serde(flatten)]
    pub summary: ReportSummary,
    /// The school's code, as a v2 report's AAD names it.
    pub school_code: String,
    /// 1, or 2: every envelope of the report is bound (`aad`) and committed.
    pub protocol: i32,
    pub outcome: Option<Outcome>,
    pub envelope: Envelope,
    pub messages: Vec<StaffMessage>,
    pub attachments: Vec<StaffMessage>,
    /// Seal a reply to every one of these (`reporter` and each recipient).
    pub reply_keys: Vec<RecipientKey>,
    pub close_request: Option<CloseRequest>,
    pub history: Vec<HistoryEntry>,
    /// The cases opened from this report (a case's own view still needs its
    /// handler or the bureau).
    pub cases: Vec<crate::concerns::dto::LinkedCase>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffReply {
    pub envelope: Envelope,
}

/// A reader's word that a wrap for their key would not open (or opened to a
/// content key that fails the commitment or the AAD).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Undecryptable {
    /// The report's id, or one of its messages' or attachments'.
    pub object_id: String,
    /// The wrap's key id.
    pub key_id: Text<64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    pub status: Status,
    /// A handling note (required to close, and for a progress note: the
    /// same status again while a report is being handled). Recipients read
    /// it; keep report content out of it.
    pub note: Option<Text<2000>>,
    /// Required to close.
    pub outcome: Option<Outcome>,
}

/// The bureau's late classification of a report.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Classification {
    /// The report concerns staff: the school's readers lose it at once.
    pub concerns_staff: bool,
    /// A school reader the report concerns: they lose it at once.
    pub concerned_user_id: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddKeys {
    /// Bureau only: school recipients who may now read a `concerns_staff` report.
    #[serde(default)]
    pub share_with: Vec<String>,
    #[serde(default)]
    pub wraps: Vec<ObjectWrap>,
}

/// A content key wrap for one more recipient of the report or one of its
/// messages or attachments.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObjectWrap {
    /// The report's id, or a message's or attachment's id.
    pub object_id: String,
    pub key_id: String,
    pub enc: String,
    pub ct: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeysAdded {
    pub wraps_added: usize,
    pub shared_with: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The document lists the names the API reads and writes.
    fn schema_names<T: utoipa::PartialSchema>() -> Vec<String> {
        let schema = serde_json::to_value(T::schema()).unwrap();
        schema["enum"]
            .as_array()
            .expect("an enum schema")
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    }

    fn wire_names<T: Serialize>(all: &[T], as_str: fn(&T) -> &'static str) -> Vec<String> {
        all.iter()
            .map(|v| {
                let wire = serde_json::to_value(v).unwrap();
                assert_eq!(wire, as_str(v), "serde and as_str disagree");
                wire.as_str().unwrap().to_string()
            })
            .collect()
    }

    #[test]
    fn enum_schemas_list_the_wire_names() {
        assert_eq!(
            schema_names::<Category>(),
            wire_names(Category::ALL, |v| v.as_str())
        );
        assert_eq!(
            schema_names::<Urgency>(),
            wire_names(Urgency::ALL, |v| v.as_str())
        );
        assert_eq!(
            schema_names::<Status>(),
            wire_names(Status::ALL, |v| v.as_str())
        );
        assert_eq!(
            schema_names::<Outcome>(),
            wire_names(Outcome::ALL, |v| v.as_str())
        );
        assert_eq!(
            schema_names::<Progress>(),
            wire_names(Progress::ALL, |v| v.as_str())
        );
        assert_eq!(
            schema_names::<Sender>(),
            wire_names(Sender::ALL, |v| v.as_str())
        );
    }
}
