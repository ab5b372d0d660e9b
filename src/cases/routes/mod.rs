//! Cases' HTTP surface, one file per resource.

pub mod cases;
pub mod closing;
pub mod record;
pub mod safeguarding;
pub mod summary;

/// The reason a read of a case gives (`X-Access-Reason`), if any.
pub(super) fn access_reason(req: &actix_web::HttpRequest) -> Option<String> {
    req.headers()
        .get("x-access-reason")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}
