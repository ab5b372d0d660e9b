//! The test harness: the real server on a free port, a fresh database per
//! test (an SQLite file; a PostgreSQL schema when SAFECAMPUS_TEST_POSTGRES_URL
//! is set), a clock the test sets, and builders for a school's people.
#![allow(dead_code)]

pub mod library;
pub mod logs;
pub mod probes;
pub mod readme_client;
pub mod receivers;
pub mod scene;
pub mod tipline;
pub mod tipline_client;
pub mod walk;
pub mod workers;

use actix_web::web;
use chrono::{DateTime, TimeZone, Utc};
use diesel::connection::SimpleConnection;
use diesel::Connection;
use library::{AppState, Backend, Clock, DatabaseUrl, Db, ManualClock, ManualTicks, Settings};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;
use tracing::Instrument;

pub const PASSWORD: &str = "correct-horse-battery-9";
/// The audit chain's key in every test app (one per process, as in service).
pub const AUDIT_KEY: &str = "test-audit-key-test-audit-key-test-audit";
pub const ADMIN_PASSWORD: &str = "district-lantern-river-1";
pub const JWT_SECRET: &str = "test-secret-test-secret-test-secret-0001";
pub const RECEIPT_PEPPER: &str = "test-pepper-test-pepper-test-pepper-0001";

/// Runs each named scenario `async fn name(app: TestApp)` once on SQLite and
/// once on PostgreSQL (when SAFECAMPUS_TEST_POSTGRES_URL is set).
#[macro_export]
macro_rules! on_both_databases {
    // With `setup = f;`, each app is spawned with `f()`'s settings.
    (setup = $setup:ident; $($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[actix_web::test]
                async fn sqlite() {
                    let app = $crate::support::TestApp::try_spawn_with($crate::support::Which::Sqlite, super::$setup()).await;
                    super::$name(app.expect("SQLite app")).await
                }

                #[actix_web::test]
                async fn postgres() {
                    match $crate::support::TestApp::try_spawn_with($crate::support::Which::Postgres, super::$setup()).await {
                        Some(app) => super::$name(app).await,
                        None => eprintln!("SAFECAMPUS_TEST_POSTGRES_URL is not set: PostgreSQL run skipped"),
                    }
                }
            }
        )*
    };
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[actix_web::test]
                async fn sqlite() {
                    super::$name($crate::support::TestApp::spawn($crate::support::Which::Sqlite).await).await
                }

                #[actix_web::test]
                async fn postgres() {
                    match $crate::support::TestApp::try_spawn($crate::support::Which::Postgres).await {
                        Some(app) => super::$name(app).await,
                        None => eprintln!("SAFECAMPUS_TEST_POSTGRES_URL is not set: PostgreSQL run skipped"),
                    }
                }
            }
        )*
    };
}

/// Runs each named scenario `async fn name(which: Which)` once per database,
/// for scenarios that start their own servers or databases (SQLite always;
/// PostgreSQL when SAFECAMPUS_TEST_POSTGRES_URL is set).
#[macro_export]
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[actix_web::test]
                async fn sqlite() {
                    super::$name($crate::support::Which::Sqlite).await
                }

                #[actix_web::test]
                async fn postgres() {
                    if $crate::support::postgres_url().is_some() {
                        super::$name($crate::support::Which::Postgres).await
                    } else {
                        eprintln!("SAFECAMPUS_TEST_POSTGRES_URL is not set: PostgreSQL run skipped");
                    }
                }
            }
        )*
    };
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Which {
    Sqlite,
    Postgres,
}

/// Monday 30 November 2026, 08:00 in Shanghai.
pub fn school_morning() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap()
}

/// 10:00 and 12:00 in Shanghai on that Monday.
pub const TEN: &str = "2026-11-30T02:00:00Z";
pub const NOON: &str = "2026-11-30T04:00:00Z";

pub struct TestApp {
    pub base: String,
    pub client: awc::Client,
    pub clock: ManualClock,
    /// The anonymous budget's time source: it moves only when a test says.
    pub ticks: ManualTicks,
    pub state: web::Data<AppState>,
    pub backend: Backend,
    pub database_url: String,
    /// Names this app's requests in the logs (see `logs`).
    log_id: u64,
    _dir: tempfile::TempDir,
}

pub struct Resp {
    pub status: u16,
    pub headers: HashMap<String, String>,
    pub text: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// The problem `code` of an error response.
    pub fn code(&self) -> String {
        self.json()["code"].as_str().unwrap_or_default().to_string()
    }

    #[track_caller]
    pub fn expect(&self, status: u16) -> Value {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.text
        );
        self.json()
    }

    #[track_caller]
    pub fn expect_problem(&self, status: u16, code: &str) {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.text
        );
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "not problem+json: {}",
            self.text
        );
        assert_eq!(self.code(), code, "body: {}", self.text);
    }
}

/// A signed-in user.
#[derive(Clone, Debug)]
pub struct Session {
    pub user_id: String,
    pub token: String,
    pub refresh: String,
    pub username: String,
}

fn postgres_schema_url(base: &str) -> Option<String> {
    let schema = format!("t_{}", uuid::Uuid::now_v7().simple());
    let mut admin =
        diesel::PgConnection::establish(base).expect("connect to SAFECAMPUS_TEST_POSTGRES_URL");
    admin
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .expect("create test schema");
    let sep = if base.contains('?') { '&' } else { '?' };
    Some(format!("{base}{sep}options=-csearch_path%3D{schema}"))
}

/// Makes the URL the app connects to from the fresh database's URL.
pub type RouteDatabase = Box<dyn FnOnce(&str) -> String>;

/// What a test changes about the app it spawns.
#[derive(Default)]
pub struct Setup {
    /// More settings, as environment variables.
    pub vars: Vec<(&'static str, String)>,
    /// The database URL the app connects to, made from the fresh database's
    /// own (e.g. through a proxy the test controls); the test's direct URL
    /// stays in `database_url`.
    pub route_database: Option<RouteDatabase>,
}

/// Whether PostgreSQL runs are configured (SAFECAMPUS_TEST_POSTGRES_URL).
pub fn postgres_url() -> Option<String> {
    std::env::var("SAFECAMPUS_TEST_POSTGRES_URL")
        .ok()
        .filter(|s| !s.is_empty())
}

impl TestApp {
    pub async fn spawn(which: Which) -> TestApp {
        Self::try_spawn(which).await.expect("database for tests")
    }

    pub async fn try_spawn(which: Which) -> Option<TestApp> {
        Self::try_spawn_with(which, Setup::default()).await
    }

    pub async fn try_spawn_with(which: Which, setup: Setup) -> Option<TestApp> {
        let dir = tempfile::tempdir().expect("temp dir");
        let database_url = match which {
            Which::Sqlite => format!("sqlite://{}", dir.path().join("test.db").display()),
            Which::Postgres => {
                let base = postgres_url()?;
                web::block(move || postgres_schema_url(&base))
                    .await
                    .ok()??
            }
        };
        let app_url = match setup.route_database {
            Some(route) => route(&database_url),
            None => database_url.clone(),
        };
        let blob_dir = dir.path().join("blobs").display().to_string();
        let mut vars: HashMap<String, String> = [
            ("DATABASE_URL", app_url.as_str()),
            ("SAFECAMPUS_BLOB_DIR", blob_dir.as_str()),
            ("SAFECAMPUS_JWT_SECRET", JWT_SECRET),
            ("SAFECAMPUS_RECEIPT_PEPPER", RECEIPT_PEPPER),
            ("SAFECAMPUS_AUDIT_KEY", AUDIT_KEY),
            ("SAFECAMPUS_WORKERS", "2"),
            ("SAFECAMPUS_DB_POOL_SIZE", "6"),
            ("SAFECAMPUS_POW_DIFFICULTY", "4"),
            ("SAFECAMPUS_POW_SURGE_REPORTS", "6"),
            ("SAFECAMPUS_RECEIPT_FAILURES_PER_MINUTE", "8"),
            // Never spent by a test that does not ask for a small one (its
            // time source stands still unless the test moves it).
            ("SAFECAMPUS_TIPLINE_ANONYMOUS_BUDGET", "1000000"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        vars.extend(setup.vars.into_iter().map(|(k, v)| (k.to_string(), v)));
        let settings = Settings::from_map(&vars).expect("test settings");
        let db = Db::open_with_timeout(
            &settings.database,
            settings.db_pool_size,
            settings.db_timeout,
        )
        .with_request_timeout(settings.db_request_timeout);
        let migrate_db = db.clone();
        web::block(move || migrate_db.migrate())
            .await
            .unwrap()
            .expect("migrations");
        let clock = ManualClock::new(school_morning());
        // One chain key per process, as in the service (see `audit::use_key`).
        safecampus::audit::use_key(AUDIT_KEY.as_bytes());
        let ticks = ManualTicks::default();
        let state = web::Data::new(
            AppState::new(settings, db, std::sync::Arc::new(clock.clone()))
                .with_ticks(std::sync::Arc::new(ticks.clone())),
        );
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server_state = state.clone();
        let log_id = logs::next_app_id();
        let server = actix_web::HttpServer::new(move || {
            library::build_app(server_state.clone()).wrap_fn(move |req, srv| {
                use actix_web::dev::Service;
                srv.call(req)
                    .instrument(tracing::info_span!(logs::APP_SPAN, app = log_id))
            })
        })
        .workers(2)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        actix_web::rt::spawn(server);
        let client = awc::Client::builder()
            .timeout(Duration::from_secs(60))
            .finish();
        Some(TestApp {
            base: format!("http://127.0.0.1:{port}"),
            client,
            clock,
            ticks,
            state,
            backend: DatabaseUrl::parse(&database_url).unwrap().backend,
            database_url,
            log_id,
            _dir: dir,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Sends a request; `body` None sends nothing, Some sends JSON.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let raw = body.map(|b| b.to_string());
        self.send_raw(method, path, token, raw.as_deref(), headers)
            .await
    }

    pub async fn send_raw(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let method = awc::http::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = token {
            req = req.insert_header(("Authorization", format!("Bearer {t}")));
        }
        if body.is_some() {
            req = req.insert_header(("Content-Type", "application/json"));
        }
        for (k, v) in headers {
            req = req.insert_header((*k, *v));
        }
        let mut res = match body {
            Some(b) => req.send_body(b.to_string()).await,
            None => req.send().await,
        }
        .expect("request sent");
        let headers = res
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    v.to_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        let bytes = res
            .body()
            .limit(64 * 1024 * 1024)
            .await
            .expect("response body");
        Resp {
            status: res.status().as_u16(),
            headers,
            text: String::from_utf8_lossy(&bytes).to_string(),
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Resp {
        self.send("GET", path, Some(token), None, &[]).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Resp {
        self.send("POST", path, Some(token), Some(&body), &[]).await
    }

    pub async fn post_anon(&self, path: &str, body: Value) -> Resp {
        self.send("POST", path, None, Some(&body), &[]).await
    }

    // --- people and places ---------------------------------------------------

    pub async fn login(&self, username: &str, password: &str) -> Session {
        let body = self
            .post_anon(
                "/api/v1/auth/login",
                json!({"username": username, "password": password}),
            )
            .await
            .expect(200);
        Session {
            user_id: body["user"]["id"].as_str().unwrap().to_string(),
            token: body["access_token"].as_str().unwrap().to_string(),
            refresh: body["refresh_token"].as_str().unwrap().to_string(),
            username: username.to_string(),
        }
    }

    /// Creates the district and its admin, and signs in.
    pub async fn district_admin(&self) -> Session {
        let db = self.state.db.clone();
        let now = self.state.now_db();
        web::block(move || {
            library::bootstrap_admin(&db, now, "Test District", "admin", ADMIN_PASSWORD)
        })
        .await
        .unwrap()
        .expect("bootstrap");
        self.login("admin", ADMIN_PASSWORD).await
    }

    pub async fn create_school(&self, admin: &Session, code: &str, kind: &str) -> String {
        let body = self
            .post(
                "/api/v1/schools",
                &admin.token,
                json!({"name": format!("{code} School"), "code": code, "kind": kind}),
            )
            .await
            .expect(201);
        body["id"].as_str().unwrap().to_string()
    }

    pub async fn create_user(
        &self,
        admin: &Session,
        role: &str,
        username: &str,
        school_id: Option<&str>,
    ) -> String {
        let mut body = json!({"role": role, "username": username, "display_name": username});
        if let Some(s) = school_id {
            body["school_id"] = json!(s);
        }
        let created = self.create_activated(admin, body).await;
        if let Some(personnel) = created["personnel_id"].as_str() {
            self.clear(admin, personnel).await;
        }
        created["id"].as_str().unwrap().to_string()
    }

    /// The principal names a counsellor of their school a safeguarding
    /// handler.
    pub async fn name_lead(&self, principal: &Session, school_id: &str, user_id: &str) {
        let path = format!("/api/v1/schools/{school_id}/safeguarding-leads/{user_id}");
        self.send("PUT", &path, Some(&principal.token), None, &[])
            .await
            .expect(200);
    }

    /// Creates an account as its own owner would have it: made without a
    /// password, activated with its printed code to PASSWORD, then (for an
    /// email or phone in `body`) given them by the admin (staff) or by the
    /// account itself (families), so the code is not sent. Answers the
    /// account as created.
    pub async fn create_activated(&self, admin: &Session, mut body: Value) -> Value {
        let fields = body.as_object_mut().unwrap();
        fields.remove("password");
        let contact: serde_json::Map<String, Value> = ["email", "phone"]
            .into_iter()
            .filter_map(|k| fields.remove(k).map(|v| (k.to_string(), v)))
            .collect();
        let created = self
            .post("/api/v1/users", &admin.token, body)
            .await
            .expect(201);
        let username = created["username"].as_str().unwrap();
        let code = created["activation"]["code"]
            .as_str()
            .expect("a code to print");
        self.post_anon(
            "/api/v1/auth/activate",
            json!({"username": username, "code": code, "new_password": PASSWORD}),
        )
        .await
        .expect(204);
        if !contact.is_empty() {
            let id = created["id"].as_str().unwrap();
            let by = if created["role"] == "parent" {
                self.login(username, PASSWORD).await.token
            } else {
                admin.token.clone()
            };
            self.send(
                "PATCH",
                &format!("/api/v1/users/{id}"),
                Some(&by),
                Some(&Value::Object(contact)),
                &[("If-Match", "*")],
            )
            .await
            .expect(200);
        }
        created
    }

    /// The bureau officer who records the world's vetting checks.
    pub async fn vetting_officer(&self) -> Session {
        let admin = self.login("admin", ADMIN_PASSWORD).await;
        let taken: i64 = self
            .query_i64("SELECT COUNT(*) AS n FROM users WHERE username = 'vetting.officer'".into())
            .await;
        if taken == 0 {
            let body = json!({"role": "bureau_officer", "username": "vetting.officer",
                              "display_name": "Vetting officer"});
            self.create_activated(&admin, body).await;
        }
        self.login("vetting.officer", PASSWORD).await
    }

    /// Completes a staff member's vetting through the API: a clear check of
    /// the sexual-offence record by the bureau, then a signed commitment and
    /// training recorded by `admin`.
    pub async fn clear(&self, admin: &Session, personnel_id: &str) {
        let officer = self.vetting_officer().await;
        let day = (self.clock.now() - chrono::Duration::days(1))
            .date_naive()
            .to_string();
        self.post(
            &format!("/api/v1/personnel/{personnel_id}/checks"),
            &officer.token,
            json!({"kind": "sexual_offence_record", "checked_on": day, "authority": "District PSB",
                   "reference": "REF-1", "result": "clear", "consent_ref": "CONSENT-1"}),
        )
        .await
        .expect(201);
        self.post(
            &format!("/api/v1/personnel/{personnel_id}/commitments"),
            &admin.token,
            json!({"document_version": "2026-1", "signed_on": day}),
        )
        .await
        .expect(201);
        self.post(
            &format!("/api/v1/personnel/{personnel_id}/trainings"),
            &admin.token,
            json!({"course": "Preventing abuse", "hours": 4, "completed_on": day}),
        )
        .await
        .expect(201);
    }

    pub async fn create_class(
        &self,
        admin: &Session,
        school_id: &str,
        grade: i32,
        head_teacher: Option<&str>,
    ) -> String {
        let mut body = json!({"grade": grade, "name": format!("Class {grade}")});
        if let Some(t) = head_teacher {
            body["head_teacher_id"] = json!(t);
        }
        let created = self
            .post(
                &format!("/api/v1/schools/{school_id}/classes"),
                &admin.token,
                body,
            )
            .await
            .expect(201);
        created["id"].as_str().unwrap().to_string()
    }

    pub async fn create_student(
        &self,
        admin: &Session,
        school_id: &str,
        class_id: &str,
        name: &str,
        grade: i32,
    ) -> String {
        let created = self
            .post(
                "/api/v1/students",
                &admin.token,
                json!({"school_id": school_id, "class_id": class_id, "name": name,
                       "student_no": format!("NO-{name}"), "grade": grade}),
            )
            .await
            .expect(201);
        created["id"].as_str().unwrap().to_string()
    }

    pub async fn add_guardian(
        &self,
        admin: &Session,
        student_id: &str,
        parent_id: &str,
        relation: &str,
    ) {
        self.post(
            &format!("/api/v1/students/{student_id}/guardians"),
            &admin.token,
            json!({"user_id": parent_id, "relation": relation, "primary": true}),
        )
        .await
        .expect(201);
    }

    /// Two schools of one district, each with an admin, a head teacher, a
    /// guard, a class, a pupil and the pupil's parent.
    pub async fn world(&self) -> World {
        let district_admin = self.district_admin().await;
        let mut schools = Vec::new();
        for (code, kind) in [("SCH-X", "primary"), ("SCH-Y", "primary")] {
            let id = self.create_school(&district_admin, code, kind).await;
            let tag = code.to_lowercase();
            self.create_user(
                &district_admin,
                "school_admin",
                &format!("{tag}.admin"),
                Some(&id),
            )
            .await;
            let admin = self.login(&format!("{tag}.admin"), PASSWORD).await;
            let teacher_id = self
                .create_user(&admin, "teacher", &format!("{tag}.teacher"), None)
                .await;
            self.create_user(&admin, "guard", &format!("{tag}.guard"), None)
                .await;
            let class_id = self.create_class(&admin, &id, 1, Some(&teacher_id)).await;
            let student_id = self
                .create_student(&admin, &id, &class_id, &format!("pupil-{tag}"), 1)
                .await;
            let parent_id = self
                .create_user(&admin, "parent", &format!("{tag}.parent"), None)
                .await;
            self.add_guardian(&admin, &student_id, &parent_id, "mother")
                .await;
            schools.push(SchoolPeople {
                id,
                class_id,
                student_id,
                admin,
                teacher: self.login(&format!("{tag}.teacher"), PASSWORD).await,
                guard: self.login(&format!("{tag}.guard"), PASSWORD).await,
                parent: self.login(&format!("{tag}.parent"), PASSWORD).await,
            });
        }
        let y = schools.pop().unwrap();
        let x = schools.pop().unwrap();
        World {
            district_admin,
            x,
            y,
        }
    }
}

pub struct SchoolPeople {
    pub id: String,
    pub class_id: String,
    pub student_id: String,
    pub admin: Session,
    pub teacher: Session,
    pub guard: Session,
    pub parent: Session,
}

pub struct World {
    pub district_admin: Session,
    pub x: SchoolPeople,
    pub y: SchoolPeople,
}

pub trait ClockExt {
    fn now_ts(&self) -> i64;
}

impl ClockExt for ManualClock {
    fn now_ts(&self) -> i64 {
        self.now().timestamp()
    }
}

impl TestApp {
    /// Signs in again, e.g. after the clock moved past the access tokens'
    /// lifetime.
    pub async fn relog(&self, s: &Session) -> Session {
        let password = if s.username == "admin" {
            ADMIN_PASSWORD
        } else {
            PASSWORD
        };
        self.login(&s.username, password).await
    }

    /// Everyone in the world signs in again.
    pub async fn relog_world(&self, w: &mut World) {
        w.district_admin = self.relog(&w.district_admin).await;
        for p in [&mut w.x, &mut w.y] {
            p.admin = self.relog(&p.admin).await;
            p.teacher = self.relog(&p.teacher).await;
            p.guard = self.relog(&p.guard).await;
            p.parent = self.relog(&p.parent).await;
        }
    }

    /// Moves the clock, and everyone in the world signs in again.
    pub async fn advance(&self, w: &mut World, by: chrono::Duration) {
        self.clock.advance(by);
        self.relog_world(w).await;
    }

    /// What this app logs from now on (see `logs`).
    pub fn capture_logs(&self) -> logs::LogCapture {
        logs::LogCapture::start(self.log_id)
    }

    /// The service's clock, now.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The app's state with other settings (e.g. a test's SMTP port), on the
    /// same database and clock: for driving workers directly.
    pub fn state_with(&self, change: impl FnOnce(&mut Settings)) -> web::Data<AppState> {
        let mut settings = (*self.state.settings).clone();
        change(&mut settings);
        web::Data::new(AppState::new(
            settings,
            self.state.db.clone(),
            std::sync::Arc::new(self.clock.clone()),
        ))
    }
}
