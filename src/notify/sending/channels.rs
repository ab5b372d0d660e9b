//! External channels. Email goes over SMTP with lettre (TLS by rustls and
//! ring, no system library); push and SMS go to the operator's gateway as a
//! signed JSON POST. Both run on a blocking thread, never inside a database
//! transaction.
//!
//! SMTP settings: `SAFECAMPUS_SMTP_URL` is `smtp://user:pass@host:587?tls=required`
//! (STARTTLS, refused if the server does not offer it), `smtps://user:pass@host:465`
//! (TLS from the first byte), or `smtp://host:25` (no TLS: only for a relay on
//! the same host or a test sink). Certificates are checked against the
//! webpki roots. `SAFECAMPUS_SMTP_FROM` is the sender address.
//!
//! Webhook: `POST SAFECAMPUS_PUSH_WEBHOOK_URL` with a JSON body, headers
//! `X-SafeCampus-Timestamp: <unix seconds>`, `X-SafeCampus-Signature: v1=<hex
//! HMAC-SHA256(secret, "<timestamp>.<body>")>` and `Idempotency-Key: <delivery id>`
//! (the same on every retry of one delivery, so the gateway can drop a
//! repeat). A 2xx is delivered; anything else is retried.

use crate::config::Settings;
use crate::crypto::{hex, hmac_sha256};
use crate::i18n::Language;
use crate::notify::Category;
use serde::Serialize;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(15);

crate::text_enum!(
    /// A way out of the app.
    pub enum Channel {
        Email = "email",
        Push = "push",
        Sms = "sms",
    }
);

/// One rendered message for one recipient on one channel.
#[derive(Clone, Debug)]
pub struct Message {
    /// The outbox row's id: the idempotency key of the delivery.
    pub delivery_id: String,
    pub channel: Channel,
    pub notification_id: String,
    pub user_id: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub language: Language,
    pub category: Category,
    pub urgent: bool,
    pub reminder: bool,
    pub subject: String,
    pub body: String,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted by the server or gateway, with what it called the message.
    Sent(String),
    /// Not delivered this time; the text names the failure, never the address.
    Failed(String),
    /// The channel is not configured, or the user has no address on it.
    Skipped(&'static str),
}

pub fn deliver(settings: &Settings, msg: &Message, unix_ts: i64) -> Outcome {
    match msg.channel {
        Channel::Email => send_email(settings, msg),
        Channel::Push | Channel::Sms => send_webhook(settings, msg, unix_ts),
    }
}

fn send_email(settings: &Settings, msg: &Message) -> Outcome {
    use lettre::message::{header::ContentType, Mailbox};
    use lettre::Transport;
    let Some(url) = settings.smtp_url.as_deref() else {
        return Outcome::Skipped("email is not configured");
    };
    let Some(to) = msg.email.as_deref().and_then(|e| e.parse::<Mailbox>().ok()) else {
        return Outcome::Skipped("no email address");
    };
    let Ok(from) = settings.smtp_from.parse::<Mailbox>() else {
        return Outcome::Skipped("email sender is not valid");
    };
    let email = lettre::Message::builder()
        .from(from)
        .to(to)
        .subject(msg.subject.clone())
        .message_id(Some(format!(
            "<{}@safecampus>",
            msg.delivery_id.replace(':', ".")
        )))
        .header(ContentType::TEXT_PLAIN)
        .body(msg.body.clone());
    let email = match email {
        Ok(e) => e,
        Err(_) => return Outcome::Failed("email could not be built".into()),
    };
    let transport = match lettre::SmtpTransport::from_url(url) {
        Ok(b) => b.timeout(Some(TIMEOUT)).build(),
        Err(_) => return Outcome::Failed("smtp: bad url".into()),
    };
    match transport.send(&email) {
        Ok(response) => {
            let text: String = response.message().collect::<Vec<_>>().join(" ");
            Outcome::Sent(match plain_reference(&text, ' ') {
                Some(text) => format!("smtp {}: {text}", response.code()),
                None => format!("smtp {}", response.code()),
            })
        }
        Err(e) => Outcome::Failed(match e.status() {
            Some(code) if e.is_permanent() => format!("smtp: permanent {code}"),
            Some(code) => format!("smtp: transient {code}"),
            None => "smtp: connection failed".into(),
        }),
    }
}

#[derive(Serialize)]
struct WebhookPayload<'a> {
    id: &'a str,
    channel: &'a str,
    user_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone: Option<&'a str>,
    language: &'a str,
    category: &'a str,
    urgent: bool,
    reminder: bool,
    notification_id: &'a str,
    title: &'a str,
    body: &'a str,
}

/// The signature header value for a body sent at `unix_ts`.
pub fn webhook_signature(secret: &[u8], unix_ts: i64, body: &[u8]) -> String {
    let mut signed = format!("{unix_ts}.").into_bytes();
    signed.extend_from_slice(body);
    format!("v1={}", hex(&hmac_sha256(secret, &signed)))
}

fn send_webhook(settings: &Settings, msg: &Message, unix_ts: i64) -> Outcome {
    let Some(url) = settings.push_webhook_url.as_deref() else {
        return Outcome::Skipped("webhook is not configured");
    };
    let phone = match msg.channel {
        Channel::Sms => match msg.phone.as_deref() {
            Some(p) => Some(p),
            None => return Outcome::Skipped("no phone number"),
        },
        _ => None,
    };
    let payload = WebhookPayload {
        id: &msg.delivery_id,
        channel: msg.channel.as_str(),
        user_id: &msg.user_id,
        phone,
        language: msg.language.as_str(),
        category: msg.category.as_str(),
        urgent: msg.urgent,
        reminder: msg.reminder,
        notification_id: &msg.notification_id,
        title: &msg.subject,
        body: &msg.body,
    };
    let body = match serde_json::to_vec(&payload) {
        Ok(b) => b,
        Err(_) => return Outcome::Failed("payload could not be built".into()),
    };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(TIMEOUT))
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let result = agent
        .post(url)
        .header("Content-Type", "application/json")
        .header("X-SafeCampus-Timestamp", unix_ts.to_string())
        .header(
            "X-SafeCampus-Signature",
            webhook_signature(&settings.push_webhook_secret, unix_ts, &body),
        )
        .header("Idempotency-Key", msg.delivery_id.as_str())
        .send(&body[..]);
    match result {
        Ok(res) if res.status().is_success() => {
            let provider = res
                .headers()
                .get("x-provider-id")
                .and_then(|v| v.to_str().ok())
                .and_then(|s| plain_reference(s, '-'))
                .unwrap_or_else(|| format!("http {}", res.status().as_u16()));
            Outcome::Sent(provider)
        }
        Ok(res) => Outcome::Failed(format!("webhook: http {}", res.status().as_u16())),
        Err(_) => Outcome::Failed("webhook: connection failed".into()),
    }
}

/// What a gateway says is not trusted: its reference is kept (and shown
/// to admins) only when it is short printable ASCII, whole or not at all.
fn plain_reference(s: &str, also: char) -> Option<String> {
    (!s.is_empty() && s.len() <= 120 && s.chars().all(|c| c.is_ascii_graphic() || c == also))
        .then(|| s.to_string())
}
