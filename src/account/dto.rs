use crate::auth::Role;
use crate::error::ApiError;
use crate::http::Text;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use serde::{Deserialize, Serialize};
use std::future::{ready, Ready};
use utoipa::ToSchema;

/// The request and response header that carries a device token.
pub const DEVICE_TOKEN_HEADER: &str = "X-Device-Token";

/// The optional `X-Device-Token` a client kept from an earlier login. One
/// that cannot be a token of ours (wrong length or characters) is treated
/// as absent: the client is then unknown and is handed a new one.
pub struct DeviceToken(Option<String>);

impl DeviceToken {
    pub fn into_inner(self) -> Option<String> {
        self.0
    }
}

impl FromRequest for DeviceToken {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = req
            .headers()
            .get(DEVICE_TOKEN_HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|s| {
                (16..=128).contains(&s.len())
                    && s.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            })
            .map(str::to_string);
        ready(Ok(DeviceToken(token)))
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: Text<64>,
    pub password: Text<128>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: Text<128>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: Text<128>,
    pub new_password: Text<128>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivateRequest {
    pub username: Text<64>,
    /// The one-time code, as printed or sent (case, spaces and dashes do
    /// not matter).
    pub code: Text<64>,
    pub new_password: Text<128>,
}

/// A new account's activation code: shown here once when it could not be
/// sent (no email or phone known), for the admin to print and hand over.
#[derive(Serialize, ToSchema, Clone, Debug)]
pub struct Activation {
    /// The code, when it was not sent; never shown again.
    pub code: Option<String>,
    pub expires_at: chrono::DateTime<chrono::Utc>,
    /// Whether it went out by email or SMS to the account's own address.
    pub sent: bool,
}

#[derive(Serialize, ToSchema)]
pub struct TokenUser {
    pub id: String,
    pub role: Role,
    pub display_name: String,
    pub school_id: Option<String>,
    pub district_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    pub user: TokenUser,
    /// An administrator set the password: every route but
    /// `POST /me/password` (and the few an account needs about itself)
    /// answers 403 `password_change_required` until it is changed.
    pub password_change_required: bool,
}
