//! The one error type. Every failure leaves the API as RFC 9457 problem+json
//! with a stable, snake_case `code` that clients may rely on.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use std::fmt;

pub type AppResult<T> = Result<T, ApiError>;

crate::text_enum!(
    /// Stable machine-readable problem codes: a client may match on them.
    #[schema(as = ProblemCode)]
    pub enum Code {
        AadMismatch = "aad_mismatch",
        AbsenceWithdrawn = "absence_withdrawn",
        AccessReasonRequired = "access_reason_required",
        AccountTooNew = "account_too_new",
        AckNotRequired = "ack_not_required",
        AfterCutoff = "after_cutoff",
        AlreadyClosed = "already_closed",
        AlreadyExists = "already_exists",
        AlreadyGuardian = "already_guardian",
        AlreadyLifted = "already_lifted",
        AlreadyReleased = "already_released",
        AnonymousOnly = "anonymous_only",
        AttachmentQuotaFull = "attachment_quota_full",
        AttachmentTooLarge = "attachment_too_large",
        AttachmentsBusy = "attachments_busy",
        AudienceEmpty = "audience_empty",
        AudienceNotAllowed = "audience_not_allowed",
        BodyTooLarge = "body_too_large",
        CannotDisable = "cannot_disable",
        CannotDisableSelf = "cannot_disable_self",
        CaseBureauOnly = "case_bureau_only",
        ChangeNotPending = "change_not_pending",
        ClassExists = "class_exists",
        ConcernMandatory = "concern_mandatory",
        ConcernSettled = "concern_settled",
        ConsentRequired = "consent_required",
        ContentTooLarge = "content_too_large",
        DatabaseUnavailable = "database_unavailable",
        DeliveryNotDead = "delivery_not_dead",
        DormResidentSex = "dorm_resident_sex",
        DormStaffSex = "dorm_staff_sex",
        ForbiddenRole = "forbidden_role",
        GuardianRequired = "guardian_required",
        HandoverDisputed = "handover_disputed",
        IdempotencyInFlight = "idempotency_in_flight",
        IdempotencyKeyReused = "idempotency_key_reused",
        InternalError = "internal_error",
        InvalidCredentials = "invalid_credentials",
        InvalidField = "invalid_field",
        InvalidIdempotencyKey = "invalid_idempotency_key",
        InvalidQuery = "invalid_query",
        InvalidRefreshToken = "invalid_refresh_token",
        InvalidTransition = "invalid_transition",
        LastDistrictKey = "last_district_key",
        LastDistrictReader = "last_district_reader",
        LastPrimaryGuardian = "last_primary_guardian",
        LeaveNotActive = "leave_not_active",
        LeaveNotPending = "leave_not_pending",
        LeaveOverlaps = "leave_overlaps",
        LeaveStarted = "leave_started",
        LookupInUse = "lookup_in_use",
        MailboxNotReady = "mailbox_not_ready",
        MalformedBody = "malformed_body",
        MalformedJson = "malformed_json",
        MethodNotAllowed = "method_not_allowed",
        MissingRecipientKey = "missing_recipient_key",
        NoCloseRequest = "no_close_request",
        NotApprover = "not_approver",
        NotEmpty = "not_empty",
        NotFound = "not_found",
        NotHeadTeacher = "not_head_teacher",
        PassAlreadyUsed = "pass_already_used",
        PassNotActive = "pass_not_active",
        PassUsed = "pass_used",
        PasswordChangeRequired = "password_change_required",
        PickupBlockNotPending = "pickup_block_not_pending",
        PickupBlocked = "pickup_blocked",
        PickupHold = "pickup_hold",
        PickupNotAuthorized = "pickup_not_authorized",
        PoliceReportRequired = "police_report_required",
        PowExpired = "pow_expired",
        PowFailed = "pow_failed",
        PowInvalid = "pow_invalid",
        PowRequired = "pow_required",
        PreconditionFailed = "precondition_failed",
        PreconditionRequired = "precondition_required",
        PrimaryGuardianRequired = "primary_guardian_required",
        ReceiptThrottled = "receipt_throttled",
        ReopenBureauOnly = "reopen_bureau_only",
        ReportMessagesThrottled = "report_messages_throttled",
        RequesterRequired = "requester_required",
        RoleNotAllowed = "role_not_allowed",
        SchoolAdminRequired = "school_admin_required",
        SchoolApprovalRequired = "school_approval_required",
        SchoolCodeTaken = "school_code_taken",
        SecondPersonRequired = "second_person_required",
        ServiceUnavailable = "service_unavailable",
        StudentAbsent = "student_absent",
        StudentExists = "student_exists",
        StudentLeft = "student_left",
        StudentOnLeave = "student_on_leave",
        TiplineBusy = "tipline_busy",
        TooManyAttachments = "too_many_attachments",
        TooManyAttempts = "too_many_attempts",
        TooManyStreams = "too_many_streams",
        TooManyWraps = "too_many_wraps",
        TransferDecided = "transfer_decided",
        TransferPending = "transfer_pending",
        Unauthorized = "unauthorized",
        UnknownField = "unknown_field",
        UnknownRecipientKey = "unknown_recipient_key",
        UnpaddedCiphertext = "unpadded_ciphertext",
        UnsupportedMediaType = "unsupported_media_type",
        UsernameTaken = "username_taken",
        VettingRequired = "vetting_required",
        VisitCodeUsed = "visit_code_used",
        VisitNotOnSite = "visit_not_on_site",
        VisitNotPending = "visit_not_pending",
        VisitOutsideWindow = "visit_outside_window",
        VisitorOnWatchList = "visitor_on_watch_list",
        WeakPassword = "weak_password",
    }
);

#[derive(Clone, Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: Code,
    pub detail: String,
    /// The request field the problem is about, when there is one.
    pub field: Option<String>,
    pub retry_after_secs: Option<u64>,
    /// The underlying cause of a 5xx: logged, never sent.
    cause: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable machine-readable error code.
    pub code: Code,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: Code, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            detail: detail.into(),
            field: None,
            retry_after_secs: None,
            cause: None,
        }
    }

    /// A resource the caller may not see, or that does not exist: the two look the same.
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            Code::NotFound,
            format!("{what} not found"),
        )
    }

    pub fn forbidden(code: Code, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, detail)
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            Code::Unauthorized,
            "a valid access token is required",
        )
    }

    pub fn invalid(field: impl Into<String>, detail: impl Into<String>) -> Self {
        let mut e = Self::new(StatusCode::UNPROCESSABLE_ENTITY, Code::InvalidField, detail);
        e.field = Some(field.into());
        e
    }

    pub fn conflict(code: Code, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, detail)
    }

    pub fn unavailable(cause: impl fmt::Display) -> Self {
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            Code::ServiceUnavailable,
            "the service is temporarily unavailable; try again shortly",
        );
        e.cause = Some(cause.to_string());
        e
    }

    /// The database cannot be reached or is locked by someone else: worth a
    /// retry in a moment, never a 500.
    pub fn database_unavailable(cause: impl fmt::Display) -> Self {
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            Code::DatabaseUnavailable,
            "the database is unavailable; try again shortly (with the same Idempotency-Key)",
        )
        .with_retry_after(1);
        e.cause = Some(cause.to_string());
        e
    }

    pub fn internal(cause: impl fmt::Display) -> Self {
        let mut e = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            Code::InternalError,
            "an unexpected error occurred",
        );
        e.cause = Some(cause.to_string());
        e
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs);
        self
    }

    pub fn problem(&self) -> Problem {
        Problem {
            type_: format!("urn:safecampus:problem:{}", self.code),
            title: self
                .status
                .canonical_reason()
                .unwrap_or("Error")
                .to_string(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            code: self.code,
            field: self.field.clone(),
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.detail)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        // The tip line's budget refusing a request is not a fault, and a line
        // at its time would tell when a reporter tried: it is not logged.
        if self.status.is_server_error() && self.code != Code::TiplineBusy {
            tracing::error!(code = self.code.as_str(), cause = ?self.cause, "request failed");
        }
        let mut res = HttpResponse::build(self.status);
        res.insert_header((header::CONTENT_TYPE, "application/problem+json"));
        if let Some(secs) = self.retry_after_secs {
            res.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            res.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        res.body(serde_json::to_string(&self.problem()).unwrap_or_default())
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match e {
            Error::NotFound => ApiError::not_found("resource"),
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => ApiError::conflict(
                Code::AlreadyExists,
                "a resource with these values already exists",
            ),
            Error::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => {
                ApiError::invalid("reference", "a referenced resource does not exist")
            }
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection, info) => {
                ApiError::database_unavailable(info.message())
            }
            Error::DatabaseError(DatabaseErrorKind::SerializationFailure, info) => {
                ApiError::unavailable(info.message())
            }
            Error::DatabaseError(_, ref info) if is_transient(info.message()) => {
                ApiError::database_unavailable(info.message())
            }
            // PostgreSQL refuses text holding a NUL character (SQLite
            // takes it): a client's bad input, not our failure.
            Error::DatabaseError(_, ref info)
                if info.message().contains("invalid byte sequence") =>
            {
                ApiError::invalid("text", "text must not contain NUL characters")
            }
            other => ApiError::internal(other),
        }
    }
}

/// Locked or unreachable databases are worth a retry, not a 500.
fn is_transient(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    [
        "database is locked",
        "busy",
        "unable to open",
        "readonly",
        "read-only",
        "disk i/o",
        "connection",
        "terminating",
        "server closed",
        // PostgreSQL broke a lock cycle by failing this statement.
        "deadlock detected",
    ]
    .iter()
    .any(|needle| m.contains(needle))
}

impl From<diesel::r2d2::PoolError> for ApiError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        ApiError::database_unavailable(e)
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        ApiError::unavailable(e)
    }
}
