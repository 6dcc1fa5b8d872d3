//! The one error type of the service. It deliberately does not implement `Display`, so it can
//! only reach a client through `From<AppError> for async_graphql::Error`, which attaches
//! `extensions.code` and never forwards database or internal messages.

use async_graphql::ErrorExtensions;

#[derive(Debug, Clone)]
pub enum AppError {
    NotFound(String),
    Conflict(String),
    InvalidInput(String),
    InsufficientCoins {
        balance: i32,
        delta: i32,
    },
    AlreadyClaimed(String),
    Unauthenticated(String),
    Forbidden(String),
    RateLimited {
        retry_after_secs: u64,
    },
    /// Logged in full, with its source, where it is converted; clients see only "internal
    /// error".
    Internal(Internal),
}

/// What went wrong inside: a description for operators, and the error that caused it (kept
/// for the log rather than flattened into the text).
#[derive(Debug, Clone)]
pub struct Internal {
    pub detail: String,
    pub source: Option<std::sync::Arc<dyn std::error::Error + Send + Sync>>,
}

impl std::fmt::Display for Internal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.source {
            Some(source) => write!(f, "{}: {source}", self.detail),
            None => f.write_str(&self.detail),
        }
    }
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn code(&self) -> &'static str {
        match self {
            AppError::NotFound(_) => "NOT_FOUND",
            AppError::Conflict(_) => "CONFLICT",
            AppError::InvalidInput(_) => "INVALID_INPUT",
            AppError::InsufficientCoins { .. } => "INSUFFICIENT_COINS",
            AppError::AlreadyClaimed(_) => "ALREADY_CLAIMED",
            AppError::Unauthenticated(_) => "UNAUTHENTICATED",
            AppError::Forbidden(_) => "FORBIDDEN",
            AppError::RateLimited { .. } => "RATE_LIMITED",
            AppError::Internal(_) => "INTERNAL",
        }
    }

    /// The text a client may read.
    pub fn public_message(&self) -> String {
        match self {
            AppError::NotFound(m)
            | AppError::Conflict(m)
            | AppError::InvalidInput(m)
            | AppError::AlreadyClaimed(m)
            | AppError::Unauthenticated(m)
            | AppError::Forbidden(m) => m.clone(),
            AppError::InsufficientCoins { balance, delta } => {
                format!("insufficient coins: balance {balance}, change {delta}")
            }
            AppError::RateLimited { retry_after_secs } => {
                format!("rate limited: retry in {retry_after_secs} s")
            }
            AppError::Internal(_) => "internal error".into(),
        }
    }

    /// For operators (logs, the command line): the full detail, internal ones included.
    pub fn public_message_or_detail(&self) -> String {
        match self {
            AppError::Internal(internal) => internal.to_string(),
            other => other.public_message(),
        }
    }

    pub fn invalid(msg: impl Into<String>) -> AppError {
        AppError::InvalidInput(msg.into())
    }

    pub fn internal(context: impl std::fmt::Display) -> AppError {
        AppError::Internal(Internal {
            detail: context.to_string(),
            source: None,
        })
    }
}

impl ErrorExtensions for AppError {
    fn extend(&self) -> async_graphql::Error {
        if let AppError::Internal(internal) = self {
            let source = internal
                .source
                .as_deref()
                .map(|s| s as &(dyn std::error::Error + 'static));
            tracing::error!(detail = %internal.detail, error = source, "internal error");
        }
        async_graphql::Error::new(self.public_message()).extend_with(|_, e| {
            e.set("code", self.code());
            match self {
                AppError::RateLimited { retry_after_secs } => e.set("retryAfter", *retry_after_secs),
                AppError::InsufficientCoins { balance, .. } => e.set("balance", *balance),
                _ => {}
            }
        })
    }
}

impl From<crate::domain::Invalid> for AppError {
    fn from(e: crate::domain::Invalid) -> Self {
        AppError::InvalidInput(e.into())
    }
}

/// Resolvers parse their arguments with `?`: a bad one is INVALID_INPUT.
impl From<crate::domain::Invalid> for async_graphql::Error {
    fn from(e: crate::domain::Invalid) -> Self {
        AppError::from(e).extend()
    }
}

impl From<AppError> for async_graphql::Error {
    fn from(e: AppError) -> Self {
        e.extend()
    }
}

/// Constraint violations and missing rows become the domain errors they mean; anything else
/// is internal, its source kept for the log.
impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::RowNotFound = e {
            // A row that an expected race removed (a merge) between reading and writing it.
            return AppError::NotFound("the record no longer exists".into());
        }
        if let sqlx::Error::Database(db) = &e {
            let constraint = db.constraint().unwrap_or_default();
            match db.code().as_deref() {
                Some("23505") => return AppError::Conflict(unique_message(constraint)),
                Some("23514") => return AppError::InvalidInput(check_message(constraint)),
                Some("23503") => return AppError::NotFound("a referenced record does not exist".into()),
                Some("22003") => return AppError::InvalidInput("a counter would pass the Int range".into()),
                _ => {}
            }
        }
        AppError::Internal(Internal {
            detail: "database".into(),
            source: Some(std::sync::Arc::new(e)),
        })
    }
}

fn unique_message(constraint: &str) -> String {
    match constraint {
        "unified_users_telegram_id_key" => "that Telegram account belongs to another user".into(),
        "unified_users_discord_id_key" => "that Discord account belongs to another user".into(),
        "unified_users_website_email_key" => "that email belongs to another user".into(),
        "idempotency_keys_pkey" => "that idempotency key is in use by another request".into(),
        _ => "the change conflicts with existing data".into(),
    }
}

fn check_message(constraint: &str) -> String {
    match constraint {
        "unified_users_coins_check" => "coins would go below 0".into(),
        "unified_users_xp_check" => "xp would go below 0".into(),
        "unified_users_canonical_ids" => "platform ids must not start with 0".into(),
        _ => "the change breaks a data rule".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_row_is_not_found_and_other_failures_keep_their_source() {
        assert_eq!(AppError::from(sqlx::Error::RowNotFound).code(), "NOT_FOUND");
        let e = AppError::from(sqlx::Error::PoolTimedOut);
        let AppError::Internal(internal) = &e else {
            panic!("{e:?}")
        };
        assert!(internal.source.is_some(), "the source is kept for the log");
        assert_eq!(e.public_message(), "internal error", "and never shown to clients");
        assert!(e.public_message_or_detail().contains("pool timed out"));
    }

    #[test]
    fn internal_errors_hide_their_detail() {
        let e: async_graphql::Error = AppError::internal("relation \"x\" does not exist").into();
        assert_eq!(e.message, "internal error");
        let code = e.extensions.unwrap().get("code").cloned();
        assert_eq!(code, Some(async_graphql::Value::from("INTERNAL")));
    }

    #[test]
    fn codes_follow_the_contract() {
        let e: async_graphql::Error = AppError::InsufficientCoins {
            balance: 3,
            delta: -5,
        }
        .into();
        let ext = e.extensions.unwrap();
        assert_eq!(
            ext.get("code"),
            Some(&async_graphql::Value::from("INSUFFICIENT_COINS"))
        );
        assert_eq!(ext.get("balance"), Some(&async_graphql::Value::from(3)));
    }
}
