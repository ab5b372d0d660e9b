use crate::error::{ApiError, Code};
use actix_web::dev::Payload;
use actix_web::http::{header, StatusCode};
use actix_web::web::BytesMut;
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use std::borrow::Cow;

pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

/// A JSON request body: at most `LIMIT` bytes, unknown fields refused (by the
/// DTO's `deny_unknown_fields`), every error naming the field. It keeps the
/// SHA-256 of the raw bytes so an idempotent replay can compare bodies.
///
/// Its errors wait their turn: extracting it never fails, so the caller's
/// authentication (401) and role (403), which other extractors check, always
/// answer first, whichever extractor finishes first; the handler or service
/// checks the scope (404) and only then asks for the value (400, 413, 415,
/// 422). A caller without the right never learns the body's rules.
pub struct JsonBody<T, const LIMIT: usize = DEFAULT_BODY_LIMIT> {
    value: Result<T, ApiError>,
    pub digest: [u8; 32],
}

impl<T, const LIMIT: usize> JsonBody<T, LIMIT> {
    /// The parsed body, or why it could not be read.
    pub fn into_inner(self) -> Result<T, ApiError> {
        self.value
    }
}

impl<T: DeserializeOwned + 'static, const LIMIT: usize> FromRequest for JsonBody<T, LIMIT> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let content_type_ok = is_json(req);
        let declared_len = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            let mut digest = [0u8; 32];
            let value =
                read::<T, LIMIT>(content_type_ok, declared_len, &mut payload, &mut digest).await;
            Ok(JsonBody { value, digest })
        })
    }
}

/// Reads a JSON body that the handler chose to read later, after checks
/// made on the headers alone (a large anonymous body is read only for a
/// caller who passed them), with the same rules as `JsonBody`.
pub async fn read_json_later<T: DeserializeOwned, const LIMIT: usize>(
    req: &HttpRequest,
    payload: &mut Payload,
) -> Result<T, ApiError> {
    let content_type_ok = is_json(req);
    let declared_len = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let mut digest = [0u8; 32];
    read::<T, LIMIT>(content_type_ok, declared_len, payload, &mut digest).await
}

fn is_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            let essence = v
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            essence == "application/json" || essence.ends_with("+json")
        })
        .unwrap_or(false)
}

async fn read<T: DeserializeOwned, const LIMIT: usize>(
    content_type_ok: bool,
    declared_len: Option<usize>,
    payload: &mut Payload,
    digest: &mut [u8; 32],
) -> Result<T, ApiError> {
    if !content_type_ok {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Code::UnsupportedMediaType,
            "the body must be JSON (Content-Type: application/json)",
        ));
    }
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            Code::BodyTooLarge,
            format!("the body must be at most {LIMIT} bytes"),
        )
    };
    if declared_len.is_some_and(|n| n > LIMIT) {
        return Err(too_large());
    }
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                Code::MalformedBody,
                "the body could not be read",
            )
        })?;
        if body.len() + chunk.len() > LIMIT {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    *digest = crate::crypto::sha256(&body);
    parse_json(&body)
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // Every body of this API is an object; serde would otherwise fill a
    // struct from an array by position (`[null, null]` as a patch).
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return Err(ApiError::invalid("body", "the body must be a JSON object"));
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        // Some type errors (a number where an enum belongs) surface as syntax
        // errors; a body that is well-formed JSON has a data problem.
        let well_formed = serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok();
        match inner.classify() {
            serde_json::error::Category::Data | serde_json::error::Category::Syntax
                if well_formed =>
            {
                let message = inner.to_string();
                let at_root = path == "." || path.is_empty();
                // serde names a missing field in its message, at its parent's path;
                // an unknown field's path already ends with its name.
                let field = match (message.starts_with("missing field"), backticked(&message)) {
                    (true, Some(name)) if at_root => name,
                    (true, Some(name)) => format!("{path}.{name}"),
                    (false, Some(name)) if at_root => name,
                    _ => path,
                };
                let detail = strip_position(&message);
                let mut err = ApiError::invalid(field.clone(), format!("{field}: {detail}"));
                if message.starts_with("unknown field") {
                    err.code = Code::UnknownField;
                }
                err
            }
            _ => ApiError::new(
                StatusCode::BAD_REQUEST,
                Code::MalformedJson,
                format!(
                    "the body is not valid JSON: {}",
                    strip_position(&inner.to_string())
                ),
            ),
        }
    })?;
    Ok(value)
}

/// The first `name` quoted in a serde message ("unknown field `role`, …").
pub(super) fn backticked(message: &str) -> Option<String> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(message[start..start + len].to_string())
}

fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// Characters that hide text or reorder how it shows, so that a name on a
/// guard's screen would read differently from what is stored: zero-width
/// spaces and marks, bidirectional embeddings, overrides and isolates, and
/// the byte-order mark.
fn hides_or_reorders(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// A user-supplied text of 1 to `MAX` characters, with no control characters
/// other than line breaks and tabs, and nothing invisible or reordering.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Text<const MAX: usize>(String);

impl<const MAX: usize> Text<MAX> {
    pub fn parse(s: String) -> Result<Self, String> {
        if s.trim().is_empty() {
            return Err("must not be empty".into());
        }
        if s.chars().count() > MAX {
            return Err(format!("must be at most {MAX} characters"));
        }
        if s.chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
        {
            return Err("must not contain control characters".into());
        }
        if s.chars().any(hides_or_reorders) {
            return Err(
                "must not contain invisible or direction-changing characters (U+200B–200F, U+202A–202E, U+2066–2069, U+FEFF)"
                    .into(),
            );
        }
        Ok(Text(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl<'de, const MAX: usize> Deserialize<'de> for Text<MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Text::parse(s).map_err(serde::de::Error::custom)
    }
}

impl<const MAX: usize> utoipa::PartialSchema for Text<MAX> {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .min_length(Some(1))
            .max_length(Some(MAX))
            .into()
    }
}

impl<const MAX: usize> utoipa::ToSchema for Text<MAX> {
    fn name() -> Cow<'static, str> {
        Cow::Owned(format!("Text{MAX}"))
    }
}
