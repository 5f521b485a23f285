//! Every failure as a JSON answer: `{"error": {"code": "...", "message": "..."}}`.
//!
//! Client mistakes get a 4xx that says what is wrong. Server-side failures get a generic
//! message; their detail (SQL, driver errors, paths) goes to the log only.

use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::group_commit::Unanswered;
use crate::model::InvalidPost;
use crate::routes::BODY_LIMIT;

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    /// An answer with this status, machine-readable code and human message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    /// 404 for a path or a post that does not exist.
    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 503 for a write that may or may not have been stored.
    pub fn outcome_unknown() -> Self {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "outcome_unknown",
            "the connection to the database was lost while saving: the change may or \
             may not have been stored; check (e.g. GET the post) before retrying",
        )
    }

    /// A generic answer for an error `status` that reached the client without a JSON body:
    /// the code names the status, the message is its standard reason phrase.
    pub fn from_status(status: StatusCode) -> Self {
        let code = match status {
            StatusCode::BAD_REQUEST => "bad_request",
            StatusCode::NOT_FOUND => "not_found",
            StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
            StatusCode::REQUEST_TIMEOUT => "timeout",
            StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
            StatusCode::SERVICE_UNAVAILABLE => "busy",
            status if status.is_server_error() => "internal",
            _ => "bad_request",
        };
        let message = status.canonical_reason().unwrap_or("request failed");
        ApiError::new(status, code, message.to_ascii_lowercase())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "error": { "code": self.code, "message": self.message } });
        (self.status, Json(body)).into_response()
    }
}

impl From<model_core::Error> for ApiError {
    fn from(error: model_core::Error) -> Self {
        ApiError::from(&error)
    }
}

/// An error the group commit shares between the requests of a group it failed.
impl From<Arc<model_core::Error>> for ApiError {
    fn from(error: Arc<model_core::Error>) -> Self {
        ApiError::from(&*error)
    }
}

impl From<&model_core::Error> for ApiError {
    fn from(error: &model_core::Error) -> Self {
        use model_core::Error;
        if let Some(invalid) = error.listener_error::<InvalidPost>() {
            return ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_post",
                invalid.0.clone(),
            );
        }
        match error {
            Error::NotFound { .. } => ApiError::not_found("no post with this id"),
            // A value the column cannot hold (a title over its `length`, a NUL character where
            // the database has no room for it): the client's to fix. The reason names the
            // limit, never the database behind the app.
            Error::Value { column, reason, .. } => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_post",
                format!("{column} cannot be stored: {reason}"),
            ),
            Error::Constraint { .. } => {
                tracing::warn!(error = %error, source = ?std::error::Error::source(error), "constraint violation");
                ApiError::new(
                    StatusCode::CONFLICT,
                    "conflict",
                    "the post conflicts with stored data",
                )
            }
            Error::OutcomeUnknown { .. } => {
                tracing::error!(error = %error, source = ?std::error::Error::source(error), "commit outcome unknown");
                ApiError::outcome_unknown()
            }
            Error::Database {
                source: sqlx::Error::PoolTimedOut,
                ..
            } => {
                tracing::error!("database pool exhausted");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "busy",
                    "the server is busy; retry shortly",
                )
            }
            _ => {
                tracing::error!(error = %error, source = ?std::error::Error::source(error), "request failed");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal server error",
                )
            }
        }
    }
}

/// The group commit's writer gave no answer: a 5xx at once, never a wait.
impl From<Unanswered> for ApiError {
    fn from(unanswered: Unanswered) -> Self {
        tracing::error!("{unanswered}");
        match unanswered {
            // Nothing was queued, so nothing was written.
            Unanswered::NotQueued => ApiError::from_status(StatusCode::INTERNAL_SERVER_ERROR),
            // Its group may have been committed before the writer failed.
            Unanswered::Lost => ApiError::outcome_unknown(),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let status = rejection.status();
        match rejection {
            _ if status == StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
                status,
                "payload_too_large",
                format!("the request body is larger than {} KiB", BODY_LIMIT / 1024),
            ),
            JsonRejection::MissingJsonContentType(_) => ApiError::new(
                status,
                "unsupported_media_type",
                "expected a `content-type: application/json` body",
            ),
            // axum's text for these names the problem in the client's own JSON (syntax
            // error at line/column, missing or unknown field) and nothing of the server.
            JsonRejection::JsonSyntaxError(_) => {
                ApiError::new(status, "malformed_json", rejection.body_text())
            }
            JsonRejection::JsonDataError(_) => {
                ApiError::new(status, "invalid_json", rejection.body_text())
            }
            // The others wrap I/O and hyper errors (a body that could not be read): their
            // text is about the connection, not the request, so it stays in the log.
            _ => {
                tracing::debug!("request body rejected: {}", rejection.body_text());
                ApiError {
                    message: "the request body could not be read".to_owned(),
                    ..ApiError::from_status(status)
                }
            }
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_query", rejection.body_text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn answer(error: ApiError) -> (StatusCode, String) {
        let response = error.into_response();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    /// A connection lost during COMMIT: 503 telling the client to check before retrying, and
    /// nothing of the driver's error in the body. (Losing a connection at exactly that point
    /// cannot be arranged over HTTP against SQLite, hence a unit test.)
    #[tokio::test]
    async fn outcome_unknown_is_503_and_names_nothing_of_the_server() {
        let lost = sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "secret driver text /var/lib/db.sqlite",
        ));
        let error = model_core::Error::from_commit("Post", lost);
        assert!(error.is_outcome_unknown(), "{error:?}");
        let (status, body) = answer(error.into()).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["error"]["code"], "outcome_unknown");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("may or may not have been stored"),
            "{message}"
        );
        assert!(message.contains("before retrying"), "{message}");
        assert!(
            !message.contains("secret") && !message.contains("Post"),
            "{message}"
        );
    }

    /// The same error outside a commit is a plain 500.
    #[tokio::test]
    async fn a_connection_lost_before_the_commit_is_500() {
        let lost = sqlx::Error::Io(std::io::ErrorKind::ConnectionReset.into());
        let (status, body) = answer(model_core::Error::from_sqlx("Post", lost).into()).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            body,
            r#"{"error":{"code":"internal","message":"internal server error"}}"#
        );
    }

    /// The group commit's writer gone: never a hang, and never an answer that says the
    /// post was or was not stored when that is not known.
    #[tokio::test]
    async fn a_writer_without_an_answer_is_a_5xx() {
        let (status, body) = answer(Unanswered::NotQueued.into()).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(body.contains(r#""code":"internal""#), "{body}");
        let (status, body) = answer(Unanswered::Lost.into()).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(body.contains(r#""code":"outcome_unknown""#), "{body}");
    }
}
