//! Attachments, the tip line's large anonymous bodies (up to 15 MiB each).
//! The report is named by a header and checked before the body is read, so
//! a wrong lookup costs one read and no body; only a few bodies are read at
//! once; the ciphertext goes to the blob store, durable before its row
//! commits, under the district's daily quota; and readers get it back
//! outside any database transaction.

use super::*;
use crate::blobs::BlobStore;
use crate::crypto::envelope::Envelope;
use crate::crypto::{b64u, b64u_decode};
use crate::error::{ApiError, AppResult, Code};
use crate::state::AppState;
use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The header that names a v2 report by its lookup token (base64url).
pub const LOOKUP_HEADER: &str = "x-tipline-lookup";
/// The header that names a v1 report by its receipt.
pub const RECEIPT_HEADER: &str = "x-tipline-receipt";
/// An attachment of 10 MiB is about 14 MiB of base64.
pub const ATTACHMENT_BODY_LIMIT: usize = 15 * 1024 * 1024;
/// How long a body may take to arrive once its place is taken: a slow
/// phone network sends 15 MiB in well under this.
const BODY_DEADLINE: Duration = Duration::from_secs(300);
/// A file older than this with no row is an orphan of a crash. Files carry
/// only the hour they were written in (`blobs`), so a file may look up to
/// an hour older than it is: two hours leave a full hour for its row to
/// commit.
const ORPHAN_AGE: Duration = Duration::from_secs(2 * 3600);

/// Adds an attachment to the report its header names: 404 (or 429) for a
/// wrong one before the body is read, 503 when enough bodies are being read
/// already, 507 when the district's quota for the day is full.
pub async fn add_attachment(
    state: &AppState,
    req: &HttpRequest,
    mut payload: Payload,
) -> AppResult<MessageCreated> {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .map(|v| v.to_str().unwrap_or_default())
    };
    let (receipt, lookup) = (header(RECEIPT_HEADER), header(LOOKUP_HEADER));
    if receipt.is_none() && lookup.is_none() {
        return Err(ApiError::invalid(
            "X-Tipline-Lookup",
            "name the report in a header: X-Tipline-Lookup (v2) or X-Tipline-Receipt (v1)",
        ));
    }
    let report = super::report_by_receipt(state, receipt, lookup).await?;
    let Some(_pass) = state.anonymous.attachments.try_enter() else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            Code::AttachmentsBusy,
            "many attachments are arriving at once; send it again in a moment",
        )
        .with_retry_after(10));
    };
    let read = crate::http::read_json_later::<ReporterAttachment, ATTACHMENT_BODY_LIMIT>(
        req,
        &mut payload,
    );
    let body = actix_web::rt::time::timeout(BODY_DEADLINE, read)
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                Code::MalformedBody,
                "the body did not arrive in time",
            )
        })??;
    store(state, report, Arc::new(body.envelope)).await
}

/// Checks, writes the blob, then the row; a refused row takes its blob
/// with it.
async fn store(
    state: &AppState,
    report: ReportRow,
    env: Arc<Envelope>,
) -> AppResult<MessageCreated> {
    let now = state.now_db();
    let quota = state.settings.tipline.attachment_quota_bytes;
    // A shape the store cannot take is refused by the checks below.
    let ciphertext = b64u_decode(&env.ciphertext).unwrap_or_default();
    let size = ciphertext.len() as i64;
    let (r, e) = (report.clone(), env.clone());
    // Whatever a read can refuse is refused before a file is written.
    state
        .db
        .read(move |conn| check_reporter_adds(conn, now, &r, &e, Some((size, quota))))
        .await?;
    let (blobs, at) = (state.blobs.clone(), state.now());
    let blob = web::block(move || blobs.put(&ciphertext, at))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    let attachment = NewAttachment {
        blob: blob.clone(),
        quota_bytes: quota,
    };
    let done = state
        .db
        .write(move |conn| reporter_adds(conn, now, &report, &env, Some(&attachment)))
        .await;
    // A refusal rolled back; a 5xx may yet commit (a deadline passed while
    // the database worked), so its file is left for the orphan sweep.
    if done.as_ref().is_err_and(|e| e.status.is_client_error()) {
        let blobs = state.blobs.clone();
        let _ = web::block(move || blobs.remove(&blob.id)).await;
    }
    done
}

/// The envelopes of a report's attachments stored as blobs, still to be
/// filled with their ciphertext once the transaction is over (reading
/// files never holds the database).
pub struct BlobFills {
    stored: HashMap<String, (String, String)>,
    fills: Vec<(usize, String, String)>,
}

impl BlobFills {
    pub fn of(conn: &mut AnyConnection, report_id: &str) -> AppResult<BlobFills> {
        Ok(BlobFills {
            stored: repo::attachment_blobs(conn, report_id)?,
            fills: Vec::new(),
        })
    }

    /// The attachment `message_id` is at `index` of the view's attachments.
    pub fn note(&mut self, message_id: &str, index: usize) {
        if let Some((id, sha256)) = self.stored.get(message_id) {
            self.fills.push((index, id.clone(), sha256.clone()));
        }
    }

    pub fn into_view<T>(self, view: T) -> WithBlobs<T> {
        WithBlobs {
            view,
            fills: self.fills,
        }
    }
}

/// A view whose attachments' ciphertext is still in the blob store: `read`
/// is the only way to the view, so none leaves without its ciphertext.
pub struct WithBlobs<T> {
    view: T,
    fills: Vec<(usize, String, String)>,
}

/// A view with attachments whose envelopes can be filled.
pub trait HasAttachments {
    fn attachment_envelope(&mut self, index: usize) -> Option<&mut Envelope>;
}

impl HasAttachments for Followup {
    fn attachment_envelope(&mut self, index: usize) -> Option<&mut Envelope> {
        self.attachments.get_mut(index).map(|a| &mut a.envelope)
    }
}

impl HasAttachments for ReportDetail {
    fn attachment_envelope(&mut self, index: usize) -> Option<&mut Envelope> {
        self.attachments.get_mut(index).map(|a| &mut a.envelope)
    }
}

impl<T: HasAttachments + Send + 'static> WithBlobs<T> {
    /// Reads the ciphertexts in, on the blocking pool; a file that does not
    /// match its hash is a server fault, never served.
    pub async fn read(self, store: &BlobStore) -> AppResult<T> {
        let WithBlobs { mut view, fills } = self;
        if fills.is_empty() {
            return Ok(view);
        }
        let store = store.clone();
        web::block(move || {
            for (index, id, sha256) in fills {
                let bytes = store.get(&id, &sha256).map_err(ApiError::internal)?;
                if let Some(env) = view.attachment_envelope(index) {
                    env.ciphertext = b64u(&bytes);
                }
            }
            Ok(view)
        })
        .await
        .map_err(ApiError::internal)?
    }
}

/// The last day the sweep ran in this process: it runs once a day.
static LAST_SWEEP: Mutex<Option<chrono::NaiveDate>> = Mutex::new(None);

/// The worker's round: the orphan sweep once per day of the service's clock.
pub fn run_blob_sweep_daily(state: &AppState) -> AppResult<()> {
    let today = state.now_db().date();
    if *LAST_SWEEP.lock().unwrap_or_else(|e| e.into_inner()) == Some(today) {
        return Ok(());
    }
    sweep_orphan_blobs(state)?;
    *LAST_SWEEP.lock().unwrap_or_else(|e| e.into_inner()) = Some(today);
    Ok(())
}

/// Removes blob files that no row names (a crash between the file and its
/// row) and leftover temporary files, once they are an hour old. Returns how
/// many it removed.
pub fn sweep_orphan_blobs(state: &AppState) -> AppResult<usize> {
    let (ids, temps) = state
        .blobs
        .older_than(ORPHAN_AGE, state.now())
        .map_err(ApiError::internal)?;
    let known: std::collections::HashSet<String> = state
        .db
        .conn()
        .and_then(|mut conn| repo::known_blobs(&mut conn, &ids))?
        .into_iter()
        .collect();
    let mut removed = 0;
    for id in ids.iter().filter(|id| !known.contains(*id)) {
        state.blobs.remove(id).map_err(ApiError::internal)?;
        removed += 1;
    }
    for path in temps {
        std::fs::remove_file(path).map_err(ApiError::internal)?;
        removed += 1;
    }
    if removed > 0 {
        tracing::info!(removed, "tip line: orphan attachment files removed");
    }
    Ok(removed)
}
