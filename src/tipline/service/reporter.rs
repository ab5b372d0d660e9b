//! What a reporter does: submit a report, and follow it up with the receipt
//! (v1) or the lookup token (v2).

use super::*;
use crate::blobs::StoredBlob;
use crate::crypto::envelope::{self, Envelope};
use crate::crypto::{b64u, b64u_decode, hpke};
use crate::db::AnyConnection;
use crate::error::{ApiError, AppResult, Code};
use crate::notify::Template;
use crate::state::AppState;
use crate::tipline::dto::*;
use crate::tipline::pow;
use crate::tipline::protocol::{self, Lookup};
use crate::tipline::receipt::Receipt;
use crate::tipline::repo::{self, ReportRow, ReporterKey};
use crate::tipline::rules::Window;
use actix_web::http::StatusCode;
use chrono::{Duration, NaiveDateTime};

/// A new report's receipt with what is stored of it, made before the
/// write: the key derivation and the MAC need no database. For v2 the phone
/// made the code: no receipt, and the digest of the submitted envelope.
pub struct NewReceipt {
    pub receipt: Option<Receipt>,
    mac: String,
    reporter_public_key: String,
    digest: Option<String>,
}

impl NewReceipt {
    pub fn generate(pepper: &[u8]) -> NewReceipt {
        let receipt = Receipt::generate();
        NewReceipt {
            mac: receipt.mac(pepper),
            reporter_public_key: b64u(&hpke::public_key_bytes(&receipt.reporter_public_key())),
            receipt: Some(receipt),
            digest: None,
        }
    }

    /// What a v2 twin of this submission is checked against (v1 has none:
    /// its receipt is new each time).
    fn twin(&self) -> Option<NewReceipt> {
        self.digest.as_ref().map(|digest| NewReceipt {
            receipt: None,
            mac: self.mac.clone(),
            reporter_public_key: self.reporter_public_key.clone(),
            digest: Some(digest.clone()),
        })
    }

    /// The receipt of a submission: v2 when it carries a lookup token.
    pub fn for_submission(b: &NewReport, pepper: &[u8]) -> AppResult<NewReceipt> {
        let Some(lookup) = &b.lookup else {
            return Ok(NewReceipt::generate(pepper));
        };
        let lookup = Lookup::parse(lookup)
            .ok_or_else(|| ApiError::invalid("lookup", "base64url of 32 bytes"))?;
        let public_key = b.reporter_public_key.as_deref().unwrap_or_default();
        b64u_decode(public_key)
            .and_then(|k| hpke::usable_public_key(&k).ok())
            .ok_or_else(|| {
                ApiError::invalid("reporter_public_key", "base64url of an X25519 public key")
            })?;
        let Some(env) = b.envelope.as_ref().filter(|_| b.plaintext.is_none()) else {
            return Err(ApiError::invalid(
                "envelope",
                "a v2 report is sealed on the phone: send an envelope, not plaintext",
            ));
        };
        Ok(NewReceipt {
            receipt: None,
            mac: lookup.mac(pepper),
            reporter_public_key: public_key.to_string(),
            digest: Some(crate::crypto::sha256_hex(
                repo::envelope_text(env).as_bytes(),
            )),
        })
    }
}

/// What a submission answers: the receipt (v1), and whether this is the
/// first answer again (a v2 retry).
pub struct Submitted {
    pub receipt: Option<Receipt>,
    pub replayed: bool,
}

/// Submits a report as one grouped write. Two identical v2 submissions sent
/// at the same instant (a phone retrying before the first answer came) can
/// be written by different writers on PostgreSQL: the second then finds the
/// proof of work spent or the lookup taken by a report it could not yet
/// see. It answers as the first did once that one has committed, and
/// refuses as before if it was not a twin.
pub async fn submit_once(state: &AppState, b: NewReport) -> AppResult<Submitted> {
    let now = state.now_db();
    let pepper = state.settings.receipt_pepper.clone();
    let made = NewReceipt::for_submission(&b, &pepper)?;
    let twin = made.twin();
    let done = state
        .db
        .write_grouped(move |conn| submit(conn, now, &pepper, made, b))
        .await;
    match (done, twin) {
        (Err(refused), Some(twin)) if refused.status.is_client_error() => {
            match state.db.read(move |conn| retried(conn, &twin)).await? {
                Some(first) => Ok(first),
                None => Err(refused),
            }
        }
        (done, _) => done,
    }
}

/// A v2 retry: the first answer for the same envelope, 409 for another.
fn retried(conn: &mut AnyConnection, made: &NewReceipt) -> AppResult<Option<Submitted>> {
    let Some(digest) = &made.digest else {
        return Ok(None);
    };
    let Some(first) = repo::report_by_mac(conn, &made.mac)? else {
        return Ok(None);
    };
    let (_, stored) = repo::protocol_of(conn, &first.id)?;
    if stored.as_deref() == Some(digest.as_str()) {
        return Ok(Some(Submitted {
            receipt: None,
            replayed: true,
        }));
    }
    Err(ApiError::new(
        StatusCode::CONFLICT,
        Code::LookupInUse,
        "this lookup already belongs to a report with another envelope: make a new code",
    )
    .with_field("lookup"))
}

/// Refuses an envelope whose stated AAD is not what the server computes (or
/// a v1 envelope where v2 is required).
pub fn check_aad(env: &Envelope, required: bool, expected: &str) -> AppResult<()> {
    match &env.aad {
        Some(aad) if aad == expected => Ok(()),
        None if !required => Ok(()),
        _ => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            Code::AadMismatch,
            format!("the envelope must be bound to aad {expected} and carry a commit"),
        )
        .with_field("envelope.aad")),
    }
}

/// Checks a message's or attachment's envelope is bound to it (required on
/// a v2 report).
pub fn check_binding(
    conn: &mut AnyConnection,
    report: &ReportRow,
    env: &Envelope,
    from: Sender,
    attachment: bool,
) -> AppResult<()> {
    let (version, _) = repo::protocol_of(conn, &report.id)?;
    let expected = protocol::message_aad(from, attachment, &report.id);
    check_aad(env, version == protocol::VERSION, &expected)
}

pub fn submit(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    pepper: &[u8],
    made: NewReceipt,
    b: NewReport,
) -> AppResult<Submitted> {
    if let Some(first) = retried(conn, &made)? {
        return Ok(first);
    }
    let (school_id, district_id, _, _) = school_by_code(conn, b.school_code.as_str())?;
    let (all, district) = repo::mailbox_keys(conn, &school_id, &district_id)?;
    // The district must always be able to read a report: without a bureau
    // key the mailbox is not ready, whatever the school has registered.
    if district.is_empty() {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            Code::MailboxNotReady,
            "this mailbox has no district recipient key yet; call the crisis line if someone is in danger",
        ));
    }
    let required = if b.concerns_staff { district } else { all };
    let aad = protocol::report_aad(
        b.category,
        b.concerns_staff,
        b.school_code.as_str(),
        b.urgency,
    );
    let envelope = match (b.envelope, b.plaintext) {
        (Some(env), None) => {
            repo::check_envelope(
                &env,
                &required,
                ReporterKey::Forbidden,
                true,
                MAX_REPORT_CIPHERTEXT,
            )?;
            check_aad(&env, made.digest.is_some(), &aad)?;
            env
        }
        (None, Some(plain)) => seal_plain(&required, plain.text.as_str(), &aad)?,
        _ => {
            return Err(ApiError::invalid(
                "envelope",
                "send exactly one of envelope and plaintext",
            ))
        }
    };
    pow::spend(conn, pepper, now, b.pow.as_ref(), b.school_code.as_str())?;
    // Its times are its window's start; it is announced when the window
    // ends (danger-now: at once).
    let window = Window::of(b.urgency, now);
    let NewReceipt {
        receipt,
        mac,
        reporter_public_key,
        digest,
    } = made;
    let report = ReportRow {
        id: repo::anonymous_id(window.start),
        district_id,
        school_id,
        category: b.category.as_str().to_string(),
        urgency: b.urgency.as_str().to_string(),
        concerns_staff: b.concerns_staff,
        status: Status::New.as_str().to_string(),
        reporter_public_key,
        envelope: repo::envelope_text(&envelope),
        created_at: window.start,
        last_activity_at: window.start,
        escalated_at: None,
        outcome: None,
        close_requested_by: None,
        close_outcome: None,
        close_note: None,
        due_at: None,
    };
    repo::insert_report(conn, &report, &mac)?;
    if let Some(digest) = &digest {
        repo::set_v2(conn, &report.id, digest)?;
    }
    repo::set_window(conn, &report.id, window)?;
    if !window.holds() {
        announce_report(conn, now, &report)?;
    }
    Ok(Submitted {
        receipt,
        replayed: false,
    })
}

pub fn followup(
    conn: &mut AnyConnection,
    report: &ReportRow,
    open_with: Option<&Receipt>,
) -> AppResult<WithBlobs<Followup>> {
    let sk = open_with.map(Receipt::reporter_private_key);
    let crisis_line = repo::crisis_line(conn, &report.district_id)?;
    let mut messages = Vec::new();
    let mut attachments = Vec::new();
    let mut blobs = BlobFills::of(conn, &report.id)?;
    for m in repo::messages(conn, &report.id, true)? {
        let env = repo::parse_envelope(&m.envelope)?;
        let from = Sender::parse(&m.sender).unwrap_or(Sender::School);
        let plaintext = match (&sk, from, m.is_attachment) {
            (Some(sk), Sender::School, false) => open_reply(&env, sk, &report.id).map(|bytes| {
                serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                    serde_json::Value::String(
                        String::from_utf8_lossy(&bytes).trim_end().to_string(),
                    )
                })
            }),
            _ => None,
        };
        let item = FollowupMessage {
            id: m.id,
            // A message still in its window has no place in the thread yet.
            seq: m.seq.max(0),
            from,
            envelope: env,
            sent_on: m.created_at.date(),
            plaintext,
        };
        if m.is_attachment {
            blobs.note(&item.id, attachments.len());
            attachments.push(item);
        } else {
            messages.push(item);
        }
    }
    let recipient_keys = repo::keys_dto(&repo::report_keys(conn, report)?);
    Ok(blobs.into_view(Followup {
        status: report.status().progress(),
        recipient_keys,
        created_on: report.created_at.date(),
        messages,
        attachments,
        crisis_line,
    }))
}

/// The server's web path opens a reply for the receipt holder: a v2 reply
/// only if committed and bound to this report's staff messages.
fn open_reply(env: &Envelope, sk: &hpke::PrivateKey, report_id: &str) -> Option<Vec<u8>> {
    if env.is_v2() {
        let expected = protocol::message_aad(Sender::School, false, report_id);
        env.open_bound(sk, &[expected]).ok()
    } else {
        env.open(sk).ok()
    }
}

/// Seals a plain text (from a client that cannot seal) to the given keys,
/// bound to `aad` and committed.
fn seal_plain(keys: &[repo::KeyHolder], text: &str, aad: &str) -> AppResult<Envelope> {
    let mut recipients = Vec::with_capacity(keys.len());
    for k in keys {
        let pk = b64u_decode(&k.public_key)
            .and_then(|b| hpke::public_key_from_bytes(&b).ok())
            .ok_or_else(|| ApiError::internal("a stored recipient key is invalid"))?;
        recipients.push((k.key_id.clone(), pk));
    }
    let padded = envelope::padded_json(&serde_json::json!({ "text": text }));
    envelope::seal_v2(&recipients, &padded, aad).map_err(|_| {
        ApiError::new(
            actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
            Code::MailboxNotReady,
            "a recipient key of this mailbox cannot be sealed to; call the crisis line if someone is in danger",
        )
    })
}

/// The envelope of a reporter's message: theirs, or sealed now from plain text.
pub fn reporter_envelope(
    conn: &mut AnyConnection,
    report: &ReportRow,
    envelope: Option<Envelope>,
    plaintext: Option<PlainReport>,
) -> AppResult<Envelope> {
    match (envelope, plaintext) {
        (Some(env), None) => Ok(env),
        (None, Some(plain)) => seal_plain(
            &repo::report_keys(conn, report)?,
            plain.text.as_str(),
            &protocol::message_aad(Sender::Reporter, false, &report.id),
        ),
        _ => Err(ApiError::invalid(
            "envelope",
            "send exactly one of envelope and plaintext",
        )),
    }
}

/// Messages and attachments a reporter may add to one report in an hour.
pub const REPORTER_MESSAGES_PER_HOUR: i64 = 12;

/// A new attachment: its ciphertext, already durable in the blob store,
/// and the district's daily quota it must fit.
pub struct NewAttachment {
    pub blob: StoredBlob,
    pub quota_bytes: i64,
}

/// Adds a reporter's message, or an attachment (whose ciphertext is in the
/// blob store: the row keeps the envelope without it).
pub fn reporter_adds(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    report: &ReportRow,
    env: &Envelope,
    attachment: Option<&NewAttachment>,
) -> AppResult<MessageCreated> {
    // Concurrent messages to one report queue on its row so the count
    // holds, and attachments of one district on the district's so the
    // quota does.
    repo::lock_report(conn, &report.id)?;
    if attachment.is_some() {
        repo::lock_district(conn, &report.district_id)?;
    }
    let quota = attachment.map(|a| (a.blob.size, a.quota_bytes));
    check_reporter_adds(conn, now, report, env, quota)?;
    let text = match attachment {
        Some(_) => repo::envelope_text(&Envelope {
            nonce: env.nonce.clone(),
            ciphertext: String::new(),
            keys: env.keys.clone(),
            aad: env.aad.clone(),
            commit: env.commit.clone(),
        }),
        None => repo::envelope_text(env),
    };
    let is_attachment = attachment.is_some();
    // Like a report, a message waits for the end of its window (the
    // report's urgency sets it) and is announced with the window's batch.
    let window = Window::of(report.urgency(), now);
    let id = if window.holds() {
        repo::insert_held_message(conn, &report.id, is_attachment, &text, window)?
    } else {
        let id = repo::insert_message(
            conn,
            &report.id,
            Sender::Reporter,
            None,
            is_attachment,
            &text,
            now,
        )?;
        notify_readers(conn, now, report, Template::TiplineReporterMessage)?;
        id
    };
    if let Some(a) = attachment {
        repo::insert_attachment_blob(
            conn,
            &a.blob,
            &id,
            &report.id,
            &report.district_id,
            window.start,
        )?;
    }
    Ok(MessageCreated {
        id,
        sent_on: window.start.date(),
    })
}

/// Whether a reporter may add this message now, or this attachment (with
/// its ciphertext's size and the district's daily quota): the report's
/// hourly count, the envelope, its binding, and for an attachment the
/// report's ten and the quota. Only reads: it runs before an attachment's
/// blob is written, and again in the write.
pub fn check_reporter_adds(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    report: &ReportRow,
    env: &Envelope,
    attachment: Option<(i64, i64)>,
) -> AppResult<()> {
    // Each message alerts every reader: a flood from one receipt (or one
    // stolen receipt) must not page a school all night.
    let recent = repo::reporter_messages_since(conn, &report.id, now - Duration::hours(1))?;
    if recent >= REPORTER_MESSAGES_PER_HOUR {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            Code::ReportMessagesThrottled,
            "this report has had many messages in the last hour; wait a while and send again",
        )
        .with_retry_after(600));
    }
    let keys = repo::report_keys(conn, report)?;
    if let Some((size, quota)) = attachment {
        let count = repo::attachment_count(conn, &report.id)?;
        if count >= super::ATTACHMENTS_PER_REPORT {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                Code::TooManyAttachments,
                format!(
                    "a report holds at most {} attachments",
                    super::ATTACHMENTS_PER_REPORT
                ),
            )
            .with_field("envelope"));
        }
        let max = super::ATTACHMENT_MAX_BYTES + hpke::TAG_LEN;
        repo::check_envelope(env, &keys, ReporterKey::Allowed, false, max).map_err(|mut e| {
            if e.code == Code::ContentTooLarge {
                e.code = Code::AttachmentTooLarge;
                e.detail = "an attachment must be at most 10 MiB".into();
            }
            e
        })?;
        check_quota(conn, now, report, size, quota)?;
    } else {
        repo::check_envelope(
            env,
            &keys,
            ReporterKey::Allowed,
            true,
            MAX_REPORT_CIPHERTEXT,
        )?;
    }
    check_binding(conn, report, env, Sender::Reporter, attachment.is_some())
}

/// The district's attachments of the day (UTC, by window start) and this
/// one must fit its daily quota; when full, 507 until the next day.
fn check_quota(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    report: &ReportRow,
    size: i64,
    quota: i64,
) -> AppResult<()> {
    let day = Window::of(report.urgency(), now).start.date();
    let used = repo::attachment_bytes_on(conn, &report.district_id, day)?;
    if used.saturating_add(size) <= quota {
        return Ok(());
    }
    let tomorrow = (day + Duration::days(1))
        .and_hms_opt(0, 0, 0)
        .expect("midnight exists");
    Err(ApiError::new(
        StatusCode::INSUFFICIENT_STORAGE,
        Code::AttachmentQuotaFull,
        "the district's attachments for today are full; send it tomorrow, or write what it shows in a message",
    )
    .with_retry_after((tomorrow - now).num_seconds().max(1) as u64))
}
