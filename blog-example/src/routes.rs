//! The HTTP API: the tutorial's `GET /add_post`, and a JSON API around `Post`.

use std::time::{Duration, Instant};

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use model_core::{Backend, Model, Page};
use serde::{Deserialize, Serialize};
use tower_http::timeout::TimeoutLayer;

use crate::db::Pools;
use crate::error::ApiError;
use crate::model::Post;

/// Request bodies above this size are refused with 413.
pub const BODY_LIMIT: usize = 64 * 1024;
/// A request that takes longer than this is answered 408.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest page `GET /posts` returns.
pub const MAX_LIMIT: u32 = 100;

/// The whole app on `pools`.
pub fn app<DB: Backend>(pools: Pools<DB>) -> Router {
    Router::new()
        .route("/add_post", get(add_post::<DB>))
        .route("/posts", get(list_posts::<DB>).post(create_post::<DB>))
        .route(
            "/posts/{id}",
            get(get_post::<DB>)
                .put(update_post::<DB>)
                .delete(delete_post::<DB>),
        )
        .fallback(unknown_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(middleware::from_fn(log_request))
        .with_state(pools)
}

/// `GET /add_post`: the tutorial's route, word for word. `created_at` comes from the
/// model's `before_insert` listener.
async fn add_post<DB: Backend>(State(pools): State<Pools<DB>>) -> Result<&'static str, ApiError> {
    let mut post = Post::new("New Post", "This is a new post");
    post.insert(&pools.write).await?;
    Ok("Post added successfully!")
}

/// The body of `POST /posts` and `PUT /posts/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PostInput {
    title: String,
    content: String,
}

/// A stored post, as the API shows it.
#[derive(Debug, Serialize)]
struct PostOutput {
    id: Option<i64>,
    title: String,
    content: String,
    created_at: Option<String>,
    updated_at: Option<String>,
}

impl From<Post> for PostOutput {
    fn from(post: Post) -> Self {
        let time = |t: Option<chrono::DateTime<chrono::Utc>>| {
            t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
        };
        PostOutput {
            id: post.id,
            title: post.title,
            content: post.content,
            created_at: time(post.created_at),
            updated_at: time(post.updated_at),
        }
    }
}

/// `POST /posts`: 201 with the stored post.
async fn create_post<DB: Backend>(
    State(pools): State<Pools<DB>>,
    input: Result<Json<PostInput>, JsonRejection>,
) -> Result<(StatusCode, Json<PostOutput>), ApiError> {
    let Json(input) = input?;
    let mut post = Post::new(input.title, input.content);
    post.insert(&pools.write).await?;
    Ok((StatusCode::CREATED, Json(post.into())))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParams {
    limit: Option<u32>,
    offset: Option<u64>,
}

/// `GET /posts?limit=20&offset=0`: newest first.
async fn list_posts<DB: Backend>(
    State(pools): State<Pools<DB>>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<Vec<PostOutput>>, ApiError> {
    let Query(params) = params?;
    let limit = params.limit.unwrap_or(20);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_query",
            format!("limit must be between 1 and {MAX_LIMIT}"),
        ));
    }
    let page = Page::newest(limit).offset(params.offset.unwrap_or(0));
    let posts = Post::page(&pools.read, page).await?;
    Ok(Json(posts.into_iter().map(PostOutput::from).collect()))
}

/// `GET /posts/{id}`: 404 when absent.
async fn get_post<DB: Backend>(
    State(pools): State<Pools<DB>>,
    id: Result<Path<i64>, axum::extract::rejection::PathRejection>,
) -> Result<Json<PostOutput>, ApiError> {
    let Path(id) = id.map_err(bad_id)?;
    match Post::find(&pools.read, id).await? {
        Some(post) => Ok(Json(post.into())),
        None => Err(ApiError::not_found("no post with this id")),
    }
}

/// `PUT /posts/{id}`: replaces title and content through the `before_update` listeners.
async fn update_post<DB: Backend>(
    State(pools): State<Pools<DB>>,
    id: Result<Path<i64>, axum::extract::rejection::PathRejection>,
    input: Result<Json<PostInput>, JsonRejection>,
) -> Result<Json<PostOutput>, ApiError> {
    let Path(id) = id.map_err(bad_id)?;
    let Json(input) = input?;
    // Read and write in one transaction, so a concurrent delete cannot slip between them.
    let mut tx = pools
        .write
        .begin()
        .await
        .map_err(|e| model_core::Error::from_sqlx("Post", e))?;
    let Some(mut post) = Post::find(&mut tx, id).await? else {
        return Err(ApiError::not_found("no post with this id"));
    };
    post.title = input.title;
    post.content = input.content;
    post.update(&mut tx).await?;
    tx.commit()
        .await
        .map_err(|e| model_core::Error::from_sqlx("Post", e))?;
    Ok(Json(post.into()))
}

/// `DELETE /posts/{id}`: 204, or 404 when absent.
async fn delete_post<DB: Backend>(
    State(pools): State<Pools<DB>>,
    id: Result<Path<i64>, axum::extract::rejection::PathRejection>,
) -> Result<StatusCode, ApiError> {
    let Path(id) = id.map_err(bad_id)?;
    // Loaded first, so that delete listeners see the real row.
    let mut tx = pools
        .write
        .begin()
        .await
        .map_err(|e| model_core::Error::from_sqlx("Post", e))?;
    let Some(post) = Post::find(&mut tx, id).await? else {
        return Err(ApiError::not_found("no post with this id"));
    };
    post.delete(&mut tx).await?;
    tx.commit()
        .await
        .map_err(|e| model_core::Error::from_sqlx("Post", e))?;
    Ok(StatusCode::NO_CONTENT)
}

fn bad_id(_: axum::extract::rejection::PathRejection) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "bad_id",
        "the post id must be an integer",
    )
}

async fn unknown_route() -> ApiError {
    ApiError::not_found("no such route")
}

async fn wrong_method() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not accept this method",
    )
}

/// One log line per request: method, path, status, time taken.
async fn log_request(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let start = Instant::now();
    let response = next.run(request).await.into_response();
    tracing::info!(
        target: "blog_example::request",
        "{method} {path} {} {}µs",
        response.status().as_u16(),
        start.elapsed().as_micros()
    );
    response
}
