use sq_domain::ticket::TicketStatus;
use sq_store::StoreError;

/// Every way a use case can refuse. [`AppError::code`] is the stable snake_case contract
/// the API returns; people read the localised message the web layer looks up by that code.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("authentication required")]
    Unauthenticated,
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("token invalid or expired")]
    InvalidToken,
    #[error("refresh token already used")]
    TokenReused,
    #[error("too many attempts")]
    TooManyAttempts { retry_after_secs: u64 },
    #[error("missing scope {0}")]
    Forbidden(&'static str),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0} already exists")]
    Conflict(&'static str),
    /// Bad input: a stable code (`invalid_phone`, …) and the field it concerns.
    #[error("{field}: {code}")]
    Invalid {
        code: &'static str,
        field: &'static str,
        detail: String,
    },
    #[error("no ticket is waiting")]
    QueueEmpty,
    #[error("the queue is not open")]
    QueueClosed,
    #[error("cannot {action} a ticket that is {from}")]
    IllegalTransition {
        action: &'static str,
        from: TicketStatus,
    },
    /// The cause is logged, never shown.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated => "unauthenticated",
            Self::InvalidCredentials => "invalid_credentials",
            Self::InvalidToken => "invalid_token",
            Self::TokenReused => "token_reused",
            Self::TooManyAttempts { .. } => "too_many_attempts",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::Conflict(_) => "conflict",
            Self::Invalid { code, .. } => code,
            Self::QueueEmpty => "queue_empty",
            Self::QueueClosed => "queue_closed",
            Self::IllegalTransition { .. } => "illegal_transition",
            Self::Internal(_) => "internal_error",
        }
    }

    pub fn invalid(field: &'static str, e: sq_domain::values::ParseError) -> Self {
        Self::Invalid {
            code: e.code,
            field,
            detail: e.detail,
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => Self::NotFound(what),
            StoreError::Conflict(what) => Self::Conflict(what),
            StoreError::QueueClosed => Self::QueueClosed,
            StoreError::IllegalTransition(t) => Self::IllegalTransition {
                action: t.action,
                from: t.from,
            },
            StoreError::Invalid(detail) => Self::Invalid {
                code: "invalid_request",
                field: "",
                detail,
            },
            StoreError::Backend(msg) => Self::Internal(msg),
        }
    }
}
