//! The application: the router every binary and test uses, wiring every
//! domain's routes. No domain imports this module.

use crate::error::{ApiError, Problem};
use crate::http;
use crate::state::State;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::{get, middleware, web, App, HttpResponse};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::OpenApi;
use utoipa_actix_web::{scope, AppExt, UtoipaApp};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "SafeCampus API",
        description = "Backend of a district programme that keeps students safe from sexual abuse: \
                       accounts and school structure, tip line, pickup, leave, notifications.\n\n\
                       Every route checks in one fixed order, and the first check that fails \
                       answers: sign-in (401), then role (403), then scope (404: another \
                       school's or family's object is not found), then the body (400, 413, \
                       415, 422). A caller who may not use a route learns nothing of its \
                       body's rules. Problems carry a stable `code` (`ProblemCode`).",
        license(name = "AGPL-3.0-or-later")
    ),
    components(schemas(Problem)),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

fn register<T>(app: UtoipaApp<T>) -> UtoipaApp<T>
where
    T: ServiceFactory<ServiceRequest, Config = (), Error = actix_web::Error, InitError = ()>,
{
    app.openapi(ApiDoc::openapi())
        .service(healthz)
        .service(readyz)
        // Before the `/api/v1` scope, which would otherwise take the path and
        // answer 404. Not described in the document it serves.
        .route("/api/v1/openapi.json", web::get().to(openapi_handler))
        .service(
            scope("/api/v1")
                .configure(crate::account::routes)
                .configure(crate::org::routes)
                .configure(crate::vetting::routes)
                .configure(crate::notices::routes)
                .configure(crate::tipline::routes)
                .configure(crate::pickup::routes)
                .configure(crate::leave::routes)
                .configure(crate::gate::routes)
                .configure(crate::dorms::routes)
                .configure(crate::transfers::routes)
                .configure(crate::attendance::routes)
                .configure(crate::concerns::routes)
                .configure(crate::cases::routes)
                .configure(crate::privacy::routes)
                .configure(crate::audit::routes),
        )
}

/// Documents the problem responses every operation of a kind can give, so
/// handlers declare only their own: 401 and 403 where a token is required, 400, 413,
/// 415 and 422 where there is a body, 422 where there is a query, 404 where
/// the path names a resource, 503 wherever the database is used. Applied
/// after the routes are registered (the `#[openapi(modifiers)]` run before).
struct ProblemResponses;

impl utoipa::Modify for ProblemResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::ParameterIn;
        for (path, item) in openapi.paths.paths.iter_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for op in operations.into_iter().flatten() {
                let params = op.parameters.as_deref().unwrap_or_default();
                let has_in = |place: ParameterIn| {
                    params.iter().any(|p| {
                        std::mem::discriminant(&p.parameter_in) == std::mem::discriminant(&place)
                    })
                };
                let mut add = Vec::new();
                if op.security.as_ref().is_some_and(|s| !s.is_empty()) {
                    add.push(("401", "A valid access token is required."));
                    add.push(("403", "The caller's role may not do this."));
                }
                if op.request_body.is_some() {
                    add.push((
                        "400",
                        "The body is not valid JSON (checked after sign-in, role and scope).",
                    ));
                    add.push((
                        "413",
                        "The body is too large (checked after sign-in, role and scope).",
                    ));
                    add.push((
                        "415",
                        "The body is not JSON (checked after sign-in, role and scope).",
                    ));
                    add.push(("422", "A field is missing, unknown or invalid (checked after sign-in, role and scope)."));
                }
                if has_in(ParameterIn::Query) {
                    add.push(("422", "A query parameter is invalid."));
                }
                if has_in(ParameterIn::Path) {
                    add.push(("404", "No such resource, or not the caller's to see."));
                }
                if path != "/healthz" {
                    add.push(("503", "The database is unavailable; try again shortly."));
                }
                for (status, description) in add {
                    op.responses
                        .responses
                        .entry(status.to_string())
                        .or_insert_with(|| problem_response(description).into());
                }
            }
        }
    }
}

fn problem_response(description: &str) -> utoipa::openapi::Response {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
}

fn split<T>(app: UtoipaApp<T>) -> (App<T>, utoipa::openapi::OpenApi)
where
    T: ServiceFactory<ServiceRequest, Config = (), Error = actix_web::Error, InitError = ()>,
{
    use utoipa::Modify;
    let (app, mut api) = register(app).split_for_parts();
    ProblemResponses.modify(&mut api);
    (app, api)
}

/// The OpenAPI document, generated from the handlers' annotations.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    split(App::new().into_utoipa_app()).1
}

pub fn openapi_json() -> String {
    let mut s = openapi_document()
        .to_pretty_json()
        .expect("the document serialises");
    s.push('\n');
    s
}

pub fn build(
    state: State,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let (app, api) = split(App::new().into_utoipa_app());
    let api_json = web::Data::new(api.to_json().expect("the document serialises"));
    let routes = web::Data::new(http::KnownRoutes::from_openapi(
        &api,
        &[("/api/v1/openapi.json", "GET")],
    ));
    app.app_data(state)
        .app_data(web::PathConfig::default().error_handler(http::path_error))
        .app_data(web::QueryConfig::default().error_handler(http::query_error))
        .app_data(api_json)
        .app_data(routes)
        .default_service(web::to(http::not_found_route))
        .wrap(middleware::from_fn(http::access_log))
        .wrap(
            middleware::DefaultHeaders::new()
                .add(("Cache-Control", "no-store"))
                .add(("X-Content-Type-Options", "nosniff"))
                .add(("Referrer-Policy", "no-referrer"))
                .add(("Strict-Transport-Security", "max-age=63072000"))
                .add(("X-Frame-Options", "DENY")),
        )
}

async fn openapi_handler(doc: web::Data<String>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(doc.get_ref().clone())
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Health {
    pub status: &'static str,
}

/// The process is up.
#[utoipa::path(tag = "health", responses((status = 200, body = Health)))]
#[get("/healthz")]
async fn healthz() -> web::Json<Health> {
    web::Json(Health { status: "ok" })
}

/// The database answers and would take a write now; 503 while it cannot.
#[utoipa::path(
    tag = "health",
    responses((status = 200, body = Health), (status = 503, body = Problem, content_type = "application/problem+json"))
)]
#[get("/readyz")]
async fn readyz(state: State) -> Result<web::Json<Health>, ApiError> {
    state
        .db
        .ready()
        .await
        .map_err(|e| ApiError::database_unavailable(e.to_string()))?;
    Ok(web::Json(Health { status: "ready" }))
}
