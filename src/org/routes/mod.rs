pub mod consents;
pub mod leads;
pub mod roster;
pub mod schools;
pub mod students;
pub mod users;

use crate::org::service::Tagged;
use actix_web::http::header;
use actix_web::HttpResponse;

/// 200 with the record and its ETag.
fn tagged<T: serde::Serialize>(t: Tagged<T>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::ETAG, t.etag))
        .json(t.value)
}
