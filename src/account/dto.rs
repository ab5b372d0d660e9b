use crate::auth::Role;
use crate::http::Text;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

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
}
