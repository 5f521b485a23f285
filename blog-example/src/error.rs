//! Every failure as a JSON answer: `{"error": {"code": "...", "message": "..."}}`.
//!
//! Client mistakes get a 4xx that says what is wrong. Server-side failures get a generic
//! message; their detail (SQL, driver errors, paths) goes to the log only.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::model::InvalidPost;

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
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "error": { "code": self.code, "message": self.message } });
        (self.status, Json(body)).into_response()
    }
}

impl From<model_core::Error> for ApiError {
    fn from(error: model_core::Error) -> Self {
        use model_core::Error;
        if let Some(invalid) = error.listener_error::<InvalidPost>() {
            return ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_post",
                invalid.0.clone(),
            );
        }
        match &error {
            Error::NotFound { .. } => ApiError::not_found("no post with this id"),
            Error::Constraint { .. } => {
                tracing::warn!(error = %error, source = ?std::error::Error::source(&error), "constraint violation");
                ApiError::new(
                    StatusCode::CONFLICT,
                    "conflict",
                    "the post conflicts with stored data",
                )
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
                tracing::error!(error = %error, source = ?std::error::Error::source(&error), "request failed");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal server error",
                )
            }
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let code = match rejection {
            _ if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
            JsonRejection::MissingJsonContentType(_) => "unsupported_media_type",
            JsonRejection::JsonSyntaxError(_) => "malformed_json",
            JsonRejection::JsonDataError(_) => "invalid_json",
            _ => "bad_request",
        };
        // axum's text names the problem (syntax error at line/column, missing field,
        // body too large) and nothing of the server.
        ApiError::new(rejection.status(), code, rejection.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_query", rejection.body_text())
    }
}
