//! Edits: a JSON merge patch (RFC 7396) applied only under `If-Match` with
//! the record's current ETag (RFC 9110 §13.1.1), so two admins editing one
//! record at once cannot silently undo each other.

use crate::error::{ApiError, AppResult, Code};
use actix_web::dev::Payload;
use actix_web::http::{header, StatusCode};
use actix_web::{FromRequest, HttpRequest};
use serde::{Deserialize, Deserializer, Serialize};
use std::future::{ready, Ready};

/// The strong ETag of a record as the API shows it: a change to any of its
/// fields changes the tag.
pub fn etag_of<T: Serialize>(value: &T) -> String {
    let json = serde_json::to_vec(value).unwrap_or_default();
    format!(
        "\"{}\"",
        &crate::crypto::hex(&crate::crypto::sha256(&json))[..32]
    )
}

/// The `If-Match` header, as sent. Extracting it never fails: the caller's
/// sign-in, role and scope answer first (see `JsonBody`), then `check`.
pub struct IfMatch(Option<String>);

impl FromRequest for IfMatch {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let value = req
            .headers()
            .get(header::IF_MATCH)
            .map(|v| v.to_str().unwrap_or_default().to_string());
        ready(Ok(IfMatch(value)))
    }
}

impl IfMatch {
    /// Whether the header names `current` (strong comparison; `*` matches
    /// any record that exists): 428 without the header, 412 when stale.
    pub fn check(&self, current: &str) -> AppResult<()> {
        let Some(sent) = &self.0 else {
            return Err(ApiError::new(
                StatusCode::PRECONDITION_REQUIRED,
                Code::PreconditionRequired,
                "an edit needs If-Match with the ETag of the record as last read",
            ));
        };
        let matches = sent
            .split(',')
            .map(str::trim)
            .any(|tag| tag == "*" || tag == current);
        if matches {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::PRECONDITION_FAILED,
                Code::PreconditionFailed,
                "the record changed since it was read: read it again, then edit",
            ))
        }
    }
}

/// One member of a merge patch: absent (leave as is), `null` (remove), or a
/// new value.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Patch<T> {
    #[default]
    Absent,
    Null,
    Set(T),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Option::<T>::deserialize(d)? {
            None => Patch::Null,
            Some(v) => Patch::Set(v),
        })
    }
}

impl<T> Patch<T> {
    /// For a field that cannot be removed: the new value, if any; `null` is 422.
    pub fn required(self, field: &str) -> AppResult<Option<T>> {
        match self {
            Patch::Absent => Ok(None),
            Patch::Null => Err(ApiError::invalid(
                field,
                format!("{field} cannot be removed"),
            )),
            Patch::Set(v) => Ok(Some(v)),
        }
    }

    /// For a field that may be removed: `Some(None)` removes it.
    pub fn nullable(self) -> Option<Option<T>> {
        match self {
            Patch::Absent => None,
            Patch::Null => Some(None),
            Patch::Set(v) => Some(Some(v)),
        }
    }
}

/// What an edit changed, field by field, as it was and as it became: the
/// audit keeps both.
#[derive(Default)]
pub struct Changes {
    before: serde_json::Map<String, serde_json::Value>,
    after: serde_json::Map<String, serde_json::Value>,
}

impl Changes {
    /// Sets `*slot` to `new` and notes the change, if it is one.
    pub fn set<T: Serialize + PartialEq>(&mut self, field: &str, slot: &mut T, new: T) {
        if *slot != new {
            self.before.insert(field.into(), serde_json::json!(&*slot));
            self.after.insert(field.into(), serde_json::json!(&new));
            *slot = new;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.after.is_empty()
    }

    pub fn has(&self, field: &str) -> bool {
        self.after.contains_key(field)
    }

    /// (before, after) as JSON objects.
    pub fn into_json(self) -> (serde_json::Value, serde_json::Value) {
        (self.before.into(), self.after.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct P {
        #[serde(default)]
        a: Patch<String>,
        #[serde(default)]
        b: Patch<String>,
        #[serde(default)]
        c: Patch<String>,
    }

    #[test]
    fn a_merge_patch_tells_absent_from_null_from_a_value() {
        let p: P = serde_json::from_str(r#"{"b": null, "c": "x"}"#).unwrap();
        assert_eq!(p.a, Patch::Absent);
        assert_eq!(p.b, Patch::Null);
        assert_eq!(p.c, Patch::Set("x".into()));
        assert!(Patch::<String>::Null.required("b").is_err());
        assert_eq!(Patch::<String>::Null.nullable(), Some(None));
    }

    #[test]
    fn if_match_needs_the_current_tag() {
        let tag = etag_of(&serde_json::json!({"name": "a"}));
        assert_ne!(tag, etag_of(&serde_json::json!({"name": "b"})));
        assert!(IfMatch(Some(tag.clone())).check(&tag).is_ok());
        assert!(IfMatch(Some(format!("\"x\", {tag}"))).check(&tag).is_ok());
        assert!(IfMatch(Some("*".into())).check(&tag).is_ok());
        let stale = IfMatch(Some("\"0\"".into())).check(&tag).unwrap_err();
        assert_eq!(stale.code, Code::PreconditionFailed);
        let weak = IfMatch(Some(format!("W/{tag}"))).check(&tag).unwrap_err();
        assert_eq!(weak.status, StatusCode::PRECONDITION_FAILED);
        let none = IfMatch(None).check(&tag).unwrap_err();
        assert_eq!(none.status, StatusCode::PRECONDITION_REQUIRED);
    }

    #[test]
    fn changes_note_only_what_changed() {
        let (mut name, mut grade) = ("a".to_string(), 1);
        let mut c = Changes::default();
        c.set("name", &mut name, "a".to_string());
        assert!(c.is_empty());
        c.set("grade", &mut grade, 2);
        assert_eq!(grade, 2);
        let (before, after) = c.into_json();
        assert_eq!(before, serde_json::json!({"grade": 1}));
        assert_eq!(after, serde_json::json!({"grade": 2}));
    }
}
