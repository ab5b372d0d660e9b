//! Who is calling. `Caller` proves the bearer token and that its session,
//! user and account are still good; role guards narrow it so that a
//! handler's signature states the permission it needs.

use super::role::Role;
use crate::error::{ApiError, AppResult, Code};
use crate::i18n::Language;
use crate::sessions::Checked;
use crate::state::AppState;
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use std::ops::Deref;

#[derive(Clone, Debug)]
pub struct Caller {
    pub user_id: String,
    pub role: Role,
    pub district_id: String,
    pub school_id: Option<String>,
    pub language: Language,
    pub session_id: String,
}

impl Caller {
    /// The school a school-bound caller belongs to.
    pub fn own_school(&self) -> AppResult<&str> {
        self.school_id.as_deref().ok_or_else(|| {
            ApiError::forbidden(Code::ForbiddenRole, "this action needs a school account")
        })
    }

    /// The idempotency scope: keys of one caller never meet another's.
    pub fn idempotency_scope(&self) -> String {
        format!("user:{}", self.user_id)
    }
}

fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

/// What `Caller` asks beyond a live session.
struct Standing {
    /// Vetted, or not school staff.
    cleared: bool,
    /// An admin set the password; it must be changed before anything else.
    password_change_required: bool,
}

/// Proves the token and that its session stands; no vetting check.
async fn authenticate(
    state: Option<web::Data<AppState>>,
    token: Option<String>,
) -> Result<(Caller, Standing), ApiError> {
    let state = state.ok_or_else(|| ApiError::internal("application state missing"))?;
    let token = token.ok_or_else(ApiError::unauthorized)?;
    let claims = state
        .jwt
        .verify(&token, state.now())
        .ok_or_else(ApiError::unauthorized)?;
    let (user_id, session_id) = (claims.sub, claims.sid);
    let now = state.now_db();
    // The write count first, then the database (see `sessions`).
    let writes = state.db.writes.current();
    let checked = match state.sessions.get(&user_id, &session_id, writes) {
        Some(checked) => checked,
        None => {
            let (user, session) = (user_id.clone(), session_id.clone());
            let checked = state
                .db
                .query(move |conn| {
                    let Some(row) = super::repo::live_session(conn, &user, &session)? else {
                        return Ok(None);
                    };
                    let vetted_role = Role::parse(&row.1).is_some_and(Role::is_vetted);
                    let access_until = match vetted_role {
                        true => super::repo::access_until(conn, &row.0)?,
                        false => None,
                    };
                    Ok(Some(Checked {
                        row,
                        vetted_role,
                        access_until,
                    }))
                })
                .await?
                .ok_or_else(ApiError::unauthorized)?;
            state
                .sessions
                .put(&user_id, &session_id, writes, checked.clone());
            checked
        }
    };
    let cleared = checked.cleared(now);
    let (user_id, role, district_id, school_id, language, session_id, password_change_required) =
        checked.row;
    let caller = Caller {
        user_id,
        role: Role::parse(&role).ok_or_else(|| ApiError::internal("unknown role in database"))?,
        district_id,
        school_id,
        language: Language::parse(&language).unwrap_or_default(),
        session_id,
    };
    Ok((
        caller,
        Standing {
            cleared,
            password_change_required,
        },
    ))
}

/// A caller who may use the whole API: signed in, with a password of their
/// own (one an admin set answers 403 `password_change_required`), and, for
/// school staff, vetted (a clear check that stands; see `vetting`). An
/// unvetted staff account is answered 403 `vetting_required` everywhere but
/// the few routes that take `SignedIn`.
impl FromRequest for Caller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer(req);
        Box::pin(async move {
            match authenticate(state, token).await? {
                (_, s) if s.password_change_required => Err(ApiError::forbidden(
                    Code::PasswordChangeRequired,
                    "an administrator set this account's password: change it (POST /api/v1/me/password) before anything else",
                )),
                (caller, s) if s.cleared => Ok(caller),
                (_, _) => Err(ApiError::forbidden(
                    Code::VettingRequired,
                    "this account may not reach pupils until its vetting is complete (a clear record check, and the commitment and training the district asks for)",
                )),
            }
        })
    }
}

/// Any signed-in account, vetted or not: for what an account needs about
/// itself (`/me`, its feed and preferences, logging out, its password).
pub struct SignedIn(pub Caller);

impl FromRequest for SignedIn {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer(req);
        Box::pin(async move { Ok(SignedIn(authenticate(state, token).await?.0)) })
    }
}

impl Deref for SignedIn {
    type Target = Caller;
    fn deref(&self) -> &Caller {
        &self.0
    }
}

/// Whether a staff account's vetting lets it reach pupils at `now` (the one
/// place that says so: the extractor, and vetting when it gives an account a
/// place with pupils).
pub fn may_reach_pupils(
    conn: &mut crate::db::AnyConnection,
    user_id: &str,
    now: chrono::NaiveDateTime,
) -> AppResult<bool> {
    super::repo::may_reach_pupils(conn, user_id, now)
}

/// Whether a login session still stands: not ended, its user enabled, and
/// begun after the user's last "end all sessions". Long-lived responses
/// (event streams) ask again as they go.
pub fn session_is_live(
    conn: &mut crate::db::AnyConnection,
    user_id: &str,
    session_id: &str,
) -> AppResult<bool> {
    Ok(super::repo::live_session(conn, user_id, session_id)?.is_some())
}

/// Declares an extractor that admits only the given roles (403 otherwise).
macro_rules! role_guard {
    ($(#[$doc:meta])* $name:ident: $($role:ident)|+) => {
        $(#[$doc])*
        pub struct $name(pub Caller);

        impl FromRequest for $name {
            type Error = ApiError;
            type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

            fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
                let caller = Caller::from_request(req, payload);
                Box::pin(async move {
                    let caller = caller.await?;
                    match caller.role {
                        $(Role::$role)|+ => Ok($name(caller)),
                        _ => Err(ApiError::forbidden(
                            Code::ForbiddenRole,
                            "your role may not do this",
                        )),
                    }
                })
            }
        }

        impl Deref for $name {
            type Target = Caller;
            fn deref(&self) -> &Caller {
                &self.0
            }
        }
    };
}

role_guard!(
    /// The district's system administrator.
    DistrictAdmin: DistrictAdmin
);
role_guard!(
    /// The principal: the school's admin, who names the school's
    /// safeguarding handlers.
    Principal: SchoolAdmin
);
role_guard!(
    /// Moves pupils between schools: the bureau at once, a school admin by
    /// a request the receiving school's admin accepts.
    Transferer: BureauOfficer | SchoolAdmin
);
role_guard!(
    /// Sets up schools, classes and accounts: the district admin everywhere
    /// in the district, a school admin in their school.
    Admin: DistrictAdmin | SchoolAdmin
);
role_guard!(
    /// Anyone who works for a school or the district.
    Staff: DistrictAdmin | BureauOfficer | SchoolAdmin | Teacher | Guard | Counselor | LegalVp | DormManager
);
role_guard!(
    /// Reads pupils' records and class lists: staff other than guards, who
    /// see pupils only through the gate's routes (the dismissal board,
    /// handovers, exits).
    RecordStaff: DistrictAdmin | BureauOfficer | SchoolAdmin | Teacher | Counselor | LegalVp | DormManager
);
role_guard!(
    /// A pupil's record: their family, the pupil, and staff other than guards.
    RecordReader: DistrictAdmin | BureauOfficer | SchoolAdmin | Teacher | Counselor | LegalVp | DormManager | Parent | Student
);
role_guard!(
    /// Reads a pupil's consents: their guardians and the school admin.
    ConsentReader: Parent | SchoolAdmin
);
role_guard!(
    /// A parent or guardian.
    Parent: Parent
);
role_guard!(
    /// A district bureau officer.
    BureauOfficer: BureauOfficer
);
role_guard!(
    /// Keeps the audit chain's signed head: the district admin and the bureau.
    AuditReader: DistrictAdmin | BureauOfficer
);
role_guard!(
    /// Reads personnel records and their vetting: the bureau and the district
    /// admin across the district, a school admin their own school.
    VettingReader: BureauOfficer | DistrictAdmin | SchoolAdmin
);
role_guard!(
    /// Reads the staff list: the bureau and the district admin across the
    /// district, a school admin their own school.
    StaffReader: BureauOfficer | DistrictAdmin | SchoolAdmin
);
role_guard!(
    /// Staff who may hold a tip-line recipient key.
    TiplineKeyHolder: SchoolAdmin | Counselor | BureauOfficer
);
role_guard!(
    /// The people who release pupils at the gate: teachers, guards and the
    /// school admin.
    GateStaff: SchoolAdmin | Teacher | Guard
);
role_guard!(
    /// Sends notices: a teacher to their classes, a school admin to their
    /// school, a bureau officer to the district.
    NoticeSender: Teacher | SchoolAdmin | BureauOfficer
);
role_guard!(
    /// Opens and handles cases of suspected abuse: the school admin, the
    /// counsellors, teachers (for their own class's pupils) and the bureau.
    /// Which case each may see is the case's handlers (see `cases`).
    CaseWorker: SchoolAdmin | Teacher | Counselor | BureauOfficer
);
role_guard!(
    /// Takes protective measures on a case: the school admin and the bureau.
    CaseMeasurer: SchoolAdmin | BureauOfficer
);
role_guard!(
    /// Raises a concern about a pupil: every member of a school's staff,
    /// guards and dorm managers included.
    ConcernRaiser: SchoolAdmin | Teacher | Guard | Counselor | LegalVp | DormManager
);
role_guard!(
    /// Triages concerns and reads a pupil's chronology: the school's
    /// designated handlers (the principal and the counsellors the principal
    /// names, see `org::leads`); the bureau reads chronologies across its
    /// district.
    SafeguardingLead: SchoolAdmin | Counselor | BureauOfficer
);
role_guard!(
    /// Hosts a visitor: anyone who works at a school.
    VisitHost: SchoolAdmin | Teacher | Guard | Counselor | LegalVp | DormManager
);
role_guard!(
    /// Keeps the gate: checks visitors in and out.
    Guard: Guard
);
role_guard!(
    /// Reads a school's visitor log: the guard and the school admin.
    VisitLogReader: SchoolAdmin | Guard
);
role_guard!(
    /// Keeps the watch list: the school admin their school's, the bureau and
    /// the district admin every school's of the district.
    WatchKeeper: SchoolAdmin | DistrictAdmin | BureauOfficer
);
role_guard!(
    /// Records a man entering a girls' dormitory: the school admin and the
    /// dormitory's staff (who approve it), a guard or a teacher who saw it.
    DormRecorder: SchoolAdmin | DormManager | Guard | Teacher
);
role_guard!(
    /// Takes a dormitory's nightly roll call: the school admin or its staff.
    DormKeeper: SchoolAdmin | DormManager | Teacher
);
