//! The HTTP edge shared by every domain: JSON bodies, bounded texts,
//! idempotent creates, pagination, the access log and security headers.

mod body;
mod idempotency;
mod log;
mod patch;

pub use body::{parse_json, read_json_later, JsonBody, Text, DEFAULT_BODY_LIMIT};
pub use idempotency::{purge_expired as purge_expired_keys, IdempotencyKey, Idempotent, Outcome};
pub use log::access_log;
pub use patch::{etag_of, Changes, IfMatch, Patch};

use crate::error::{ApiError, Code};
use actix_web::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// `?limit=&cursor=` on every list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// 1 to 100, default 20.
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageQuery {
    pub fn limit(&self) -> Result<i64, ApiError> {
        match self.limit {
            None => Ok(20),
            Some(n @ 1..=100) => Ok(n as i64),
            Some(_) => Err(ApiError::invalid("limit", "limit must be from 1 to 100")),
        }
    }

    pub fn cursor(&self) -> Result<Option<String>, ApiError> {
        match &self.cursor {
            None => Ok(None),
            Some(c) if c.len() <= 64 && c.chars().all(|ch| ch.is_ascii_hexdigit() || ch == '-') => {
                Ok(Some(c.clone()))
            }
            Some(_) => Err(ApiError::invalid("cursor", "cursor is not valid")),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// `rows` holds up to `limit + 1` items; the extra one only says there is more.
    pub fn from_rows(mut rows: Vec<T>, limit: i64, id_of: impl Fn(&T) -> String) -> Page<T> {
        let more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let next_cursor = if more { rows.last().map(id_of) } else { None };
        Page {
            items: rows,
            next_cursor,
        }
    }

    /// The same page with every item turned into another type.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

/// Path and query extraction failures as problem+json: a malformed id in a
/// path names nothing that exists, so it is a plain 404.
pub fn path_error(
    _err: actix_web::error::PathError,
    _req: &actix_web::HttpRequest,
) -> actix_web::Error {
    ApiError::not_found("resource").into()
}

pub fn query_error(
    err: actix_web::error::QueryPayloadError,
    _req: &actix_web::HttpRequest,
) -> actix_web::Error {
    let detail = err.to_string();
    let mut e = ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        Code::InvalidQuery,
        detail.clone(),
    );
    if let Some(field) = body::backticked(&detail) {
        e = e.with_field(field);
    }
    e.into()
}

/// The documented routes, to tell an unknown path (404) from a known path
/// called with a method it does not have (405 with `Allow`, RFC 9110 §15.5.6).
pub struct KnownRoutes(Vec<(Vec<Option<String>>, Vec<&'static str>)>);

impl KnownRoutes {
    /// From the OpenAPI document's paths (`{name}` is any one segment), and
    /// any extra routes served outside it.
    pub fn from_openapi(api: &utoipa::openapi::OpenApi, extra: &[(&str, &'static str)]) -> Self {
        let template = |path: &str| -> Vec<Option<String>> {
            path.split('/')
                .map(|s| (!s.starts_with('{')).then(|| s.to_string()))
                .collect()
        };
        let mut routes: Vec<(Vec<Option<String>>, Vec<&'static str>)> = api
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let methods = [
                    ("GET", item.get.is_some()),
                    ("PUT", item.put.is_some()),
                    ("POST", item.post.is_some()),
                    ("DELETE", item.delete.is_some()),
                    ("PATCH", item.patch.is_some()),
                ];
                let allowed = methods.iter().filter(|m| m.1).map(|m| m.0).collect();
                (template(path), allowed)
            })
            .collect();
        for (path, method) in extra {
            routes.push((template(path), vec![*method]));
        }
        KnownRoutes(routes)
    }

    /// The methods the document gives a path, if it is a known route: those
    /// of the most literal template that matches (`/reports/challenge`
    /// rather than `/reports/{id}`).
    fn allowed(&self, path: &str) -> Option<Vec<&'static str>> {
        let segments: Vec<&str> = path.split('/').collect();
        self.0
            .iter()
            .filter(|(template, _)| {
                template.len() == segments.len()
                    && template.iter().zip(&segments).all(|(t, s)| match t {
                        Some(literal) => literal == s,
                        None => !s.is_empty(),
                    })
            })
            .min_by_key(|(template, _)| template.iter().filter(|t| t.is_none()).count())
            .map(|(_, methods)| methods.clone())
    }
}

pub async fn not_found_route(
    req: actix_web::HttpRequest,
    routes: Option<actix_web::web::Data<KnownRoutes>>,
) -> actix_web::HttpResponse {
    use actix_web::ResponseError;
    let allowed = routes.and_then(|r| r.allowed(req.path()));
    match allowed {
        Some(methods) if !methods.is_empty() => {
            let mut res = ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                Code::MethodNotAllowed,
                format!(
                    "{} is not allowed here; use {}",
                    req.method(),
                    methods.join(", ")
                ),
            )
            .error_response();
            if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&methods.join(", ")) {
                res.headers_mut().insert(actix_web::http::header::ALLOW, v);
            }
            res
        }
        _ => ApiError::not_found("route").error_response(),
    }
}
