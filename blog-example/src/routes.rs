//! The HTTP API: the tutorial's `GET /add_post`, and a JSON API around `Post`.

use std::fmt;
use std::marker::PhantomData;
use std::time::{Duration, Instant};

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, FromRef, Path, Query, Request, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use model_core::{Backend, Model, Page};
use serde::de::value::MapAccessDeserializer;
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::db::Pools;
use crate::error::ApiError;
use crate::model::{Comment, Post};
use crate::post_writer::{GroupCommitMode, PostWriter};

/// Request bodies above this size are refused with 413.
pub const BODY_LIMIT: usize = 64 * 1024;
/// A request that takes longer than this is answered 408 (see [`app_with_request_timeout`]).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest page `GET /posts` returns.
pub const MAX_LIMIT: u32 = 100;

/// How the app serves: see [`app_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppOptions {
    /// A request that takes longer than this (reading its body included) is answered 408.
    /// Default [`REQUEST_TIMEOUT`].
    pub request_timeout: Duration,
    /// Whether new posts are written through the group commit. Default
    /// [`GroupCommitMode::On`].
    pub group_commit: GroupCommitMode,
}

impl Default for AppOptions {
    fn default() -> Self {
        AppOptions {
            request_timeout: REQUEST_TIMEOUT,
            group_commit: GroupCommitMode::On,
        }
    }
}

/// What the handlers share; each takes the part it needs (`State<Pools<DB>>`,
/// `State<PostWriter<DB>>`).
struct AppState<DB: Backend> {
    pools: Pools<DB>,
    posts: PostWriter<DB>,
}

impl<DB: Backend> Clone for AppState<DB> {
    fn clone(&self) -> Self {
        AppState {
            pools: self.pools.clone(),
            posts: self.posts.clone(),
        }
    }
}

impl<DB: Backend> FromRef<AppState<DB>> for Pools<DB> {
    fn from_ref(state: &AppState<DB>) -> Self {
        state.pools.clone()
    }
}

impl<DB: Backend> FromRef<AppState<DB>> for PostWriter<DB> {
    fn from_ref(state: &AppState<DB>) -> Self {
        state.posts.clone()
    }
}

/// The whole app on `pools`, with the default [`AppOptions`]. Called inside a tokio
/// runtime (it may start the group commit's writer).
pub fn app<DB: Backend>(pools: Pools<DB>) -> Router {
    app_with(pools, AppOptions::default())
}

/// The whole app on `pools`, answering 408 to requests that take longer than
/// `request_timeout` (reading the body included).
pub fn app_with_request_timeout<DB: Backend>(
    pools: Pools<DB>,
    request_timeout: Duration,
) -> Router {
    app_with(
        pools,
        AppOptions {
            request_timeout,
            ..AppOptions::default()
        },
    )
}

/// The whole app on `pools`, served as `options` say. Called inside a tokio runtime: with
/// the group commit on, it starts the writer tasks, which stop once the router (every
/// clone of it) is dropped.
pub fn app_with<DB: Backend>(pools: Pools<DB>, options: AppOptions) -> Router {
    let request_timeout = options.request_timeout;
    let posts = PostWriter::new(pools.write.clone(), options.group_commit);
    Router::new()
        .route("/add_post", get(add_post::<DB>))
        .route(
            "/posts",
            get(list_posts::<DB>)
                .post(create_post::<DB>)
                .delete(delete_old_posts::<DB>),
        )
        .route(
            "/posts/{id}",
            get(get_post::<DB>)
                .put(update_post::<DB>)
                .delete(delete_post::<DB>),
        )
        .route(
            "/posts/{id}/comments",
            axum::routing::post(create_comment::<DB>),
        )
        .fallback(unknown_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn(move |request: Request, next: Next| {
            time_limit(request_timeout, request, next)
        }))
        .layer(middleware::from_fn(json_error_bodies))
        .layer(middleware::from_fn(log_request))
        .with_state(AppState { pools, posts })
}

/// `GET /add_post`: the tutorial's route, word for word. `created_at` comes from the
/// model's `before_insert` listener; the answer comes once the post is committed (with
/// those of the other requests waiting, through the group commit).
async fn add_post<DB: Backend>(
    State(posts): State<PostWriter<DB>>,
) -> Result<&'static str, ApiError> {
    posts
        .insert(Post::new("New Post", "This is a new post"))
        .await?;
    Ok("Post added successfully!")
}

/// The body of `POST /posts` and `PUT /posts/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PostInput {
    title: String,
    content: String,
}

/// A `T` read only from a JSON object. serde's derived `Deserialize` also accepts the
/// fields as an array in declaration order (`["title", "content"]`), which the API does not
/// offer: a client sending one has made a mistake, and a reordering of the struct's fields
/// would silently swap its values.
#[derive(Debug)]
struct ObjectOnly<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for ObjectOnly<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor<T>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
            type Value = T;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map))
            }
        }

        deserializer
            .deserialize_map(ObjectVisitor(PhantomData))
            .map(ObjectOnly)
    }
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
    State(posts): State<PostWriter<DB>>,
    input: Result<Json<ObjectOnly<PostInput>>, JsonRejection>,
) -> Result<(StatusCode, Json<PostOutput>), ApiError> {
    let Json(ObjectOnly(input)) = input?;
    let post = posts.insert(Post::new(input.title, input.content)).await?;
    Ok((StatusCode::CREATED, Json(post.into())))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParams {
    limit: Option<u32>,
    offset: Option<u64>,
    /// Only posts whose title contains this text.
    title: Option<String>,
}

/// `GET /posts?limit=20&offset=0&title=rust`: newest first, optionally only those whose
/// title contains `title` (a typed filter: the text is bound, its `%` and `_` match
/// themselves).
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
    let offset = params.offset.unwrap_or(0);
    let posts = match params.title {
        None => Post::page(&pools.read, Page::newest(limit).offset(offset)).await?,
        Some(text) => {
            let pattern = format!("%{}%", escape_like(&text));
            Post::filter(|p| p.title.like(pattern))
                .order_by(|p| p.id.desc())
                .limit(u64::from(limit))
                .offset(offset)
                .all(&pools.read)
                .await?
        }
    };
    Ok(Json(posts.into_iter().map(PostOutput::from).collect()))
}

/// `text` as a `LIKE` pattern that matches exactly it (`\` is the escape character on
/// every backend).
fn escape_like(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeleteParams {
    older_than_days: u32,
}

#[derive(Debug, Serialize)]
struct Deleted {
    deleted: u64,
}

/// `DELETE /posts?older_than_days=N`: deletes every post created more than N days ago, in one
/// transaction, with each post's delete listeners (a set-based delete that skips none).
async fn delete_old_posts<DB: Backend>(
    State(pools): State<Pools<DB>>,
    params: Result<Query<DeleteParams>, QueryRejection>,
) -> Result<Json<Deleted>, ApiError> {
    let Query(params) = params?;
    let cutoff = chrono::Utc::now() - chrono::Duration::days(i64::from(params.older_than_days));
    let deleted = Post::filter(|p| p.created_at.lt(cutoff))
        .delete(&pools.write)
        .await?;
    Ok(Json(Deleted { deleted }))
}

/// A post with its comments, as `GET /posts/{id}` shows it.
#[derive(Debug, Serialize)]
struct PostWithComments {
    #[serde(flatten)]
    post: PostOutput,
    comments: Vec<CommentOutput>,
}

/// A stored comment, as the API shows it.
#[derive(Debug, Serialize)]
struct CommentOutput {
    id: Option<i64>,
    post_id: i64,
    author: String,
    body: String,
    created_at: Option<String>,
}

impl From<Comment> for CommentOutput {
    fn from(comment: Comment) -> Self {
        CommentOutput {
            id: comment.id,
            post_id: comment.post_id,
            author: comment.author,
            body: comment.body,
            created_at: comment
                .created_at
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
        }
    }
}

/// `GET /posts/{id}`: the post and its comments, oldest first (one query for them); 404
/// when absent.
async fn get_post<DB: Backend>(
    State(pools): State<Pools<DB>>,
    id: Result<Path<i64>, axum::extract::rejection::PathRejection>,
) -> Result<Json<PostWithComments>, ApiError> {
    let Path(id) = id.map_err(bad_id)?;
    let Some(post) = Post::find(&pools.read, id).await? else {
        return Err(ApiError::not_found("no post with this id"));
    };
    let comments = post.children::<Comment>().all(&pools.read).await?;
    Ok(Json(PostWithComments {
        post: post.into(),
        comments: comments.into_iter().map(CommentOutput::from).collect(),
    }))
}

/// The body of `POST /posts/{id}/comments`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CommentInput {
    author: String,
    body: String,
}

/// `POST /posts/{id}/comments`: 201 with the stored comment (its `after_insert` listener
/// logged it in the same transaction); 404 when the post is absent, 422 when the comment
/// is refused by its `before_insert` listener.
async fn create_comment<DB: Backend>(
    State(pools): State<Pools<DB>>,
    id: Result<Path<i64>, axum::extract::rejection::PathRejection>,
    input: Result<Json<ObjectOnly<CommentInput>>, JsonRejection>,
) -> Result<(StatusCode, Json<CommentOutput>), ApiError> {
    let Path(id) = id.map_err(bad_id)?;
    let Json(ObjectOnly(input)) = input?;
    if Post::find(&pools.write, id).await?.is_none() {
        return Err(ApiError::not_found("no post with this id"));
    }
    let mut comment = Comment {
        id: None,
        post_id: id,
        author: input.author,
        body: input.body,
        created_at: None,
    };
    comment.insert(&pools.write).await?;
    Ok((StatusCode::CREATED, Json(comment.into())))
}

/// `PUT /posts/{id}`: replaces title and content through the `before_update` listeners.
async fn update_post<DB: Backend>(
    State(pools): State<Pools<DB>>,
    id: Result<Path<i64>, axum::extract::rejection::PathRejection>,
    input: Result<Json<ObjectOnly<PostInput>>, JsonRejection>,
) -> Result<Json<PostOutput>, ApiError> {
    let Path(id) = id.map_err(bad_id)?;
    let Json(ObjectOnly(input)) = input?;
    // Read and write in one transaction, so a concurrent delete cannot slip between them;
    // model-core's (`transaction`), not a raw `sqlx` one, so that commit listeners of what
    // the update's listeners write run after its commit instead of refusing it
    // (`Error::CommitScope`). A connection lost during its COMMIT is `OutcomeUnknown`.
    let updated = model_core::transaction(&pools.write, move |conn| {
        Box::pin(async move {
            let Some(mut post) = Post::find(&mut *conn, id).await? else {
                return Ok(None);
            };
            post.title = input.title;
            post.content = input.content;
            post.update(&mut *conn).await?;
            Ok::<_, model_core::Error>(Some(post))
        })
    })
    .await?;
    let Some(post) = updated else {
        return Err(ApiError::not_found("no post with this id"));
    };
    Ok(Json(post.into()))
}

/// `DELETE /posts/{id}`: 204, or 404 when absent. The post's comments go first, each
/// through its delete listeners, in the same transaction (`on_delete = "cascade"`).
async fn delete_post<DB: Backend>(
    State(pools): State<Pools<DB>>,
    id: Result<Path<i64>, axum::extract::rejection::PathRejection>,
) -> Result<StatusCode, ApiError> {
    let Path(id) = id.map_err(bad_id)?;
    // Loaded first, so that delete listeners see the real row, in a transaction of
    // model-core's (`transaction`), not a raw `sqlx` one: the comments' listeners write log
    // lines, and commit listeners of those (the every-model `log_inserted`) need a commit
    // model-core can see (`Error::CommitScope`).
    let found = model_core::transaction(&pools.write, move |conn| {
        Box::pin(async move {
            let Some(post) = Post::find(&mut *conn, id).await? else {
                return Ok(false);
            };
            post.delete(&mut *conn).await?;
            Ok::<_, model_core::Error>(true)
        })
    })
    .await?;
    if !found {
        return Err(ApiError::not_found("no post with this id"));
    }
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

/// Answers 408 when the request (its body included: extractors read it inside the handler)
/// takes longer than `limit`. The handler's future is dropped: a transaction not yet
/// committed rolls back, but one cut off during its COMMIT may have been stored, which the
/// 408 cannot tell (`model_core::Error::OutcomeUnknown` is only seen by a handler that
/// finishes).
async fn time_limit(limit: Duration, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "timeout",
            format!("the request took longer than {limit:?}"),
        )
        .into_response(),
    }
}

/// Gives every error answer a JSON body: the handlers' errors already have one, this catches
/// an error status that a layer (or a future change) produces with an empty or plain body.
async fn json_error_bodies(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    let replacement = ApiError::from_status(status).into_response();
    parts.headers.remove(CONTENT_LENGTH);
    let (replacement_parts, body) = replacement.into_parts();
    parts.headers.extend(replacement_parts.headers);
    Response::from_parts(parts, body)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The backstop: an error status answered with a plain or empty body by anything inside
    /// it gets the API's JSON error body; other headers and successful answers are kept.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn error_answers_without_a_json_body_get_one() {
        let router = Router::new()
            .route(
                "/teapot",
                get(|| async { (StatusCode::IM_A_TEAPOT, [("x-kept", "yes")], "plain text") }),
            )
            .route("/empty", get(|| async { StatusCode::BAD_GATEWAY }))
            .route("/fine", get(|| async { "fine" }))
            .layer(middleware::from_fn(json_error_bodies));
        let addr = crate::spawn(router).await.unwrap();
        let client = reqwest::Client::new();
        let get = |path: &str| client.get(format!("http://{addr}{path}")).send();

        let teapot = get("/teapot").await.unwrap();
        assert_eq!(teapot.status().as_u16(), 418);
        assert_eq!(teapot.headers()["x-kept"], "yes");
        assert_eq!(teapot.headers()["content-type"], "application/json");
        assert_eq!(
            teapot.text().await.unwrap(),
            r#"{"error":{"code":"bad_request","message":"i'm a teapot"}}"#
        );
        let empty = get("/empty").await.unwrap();
        assert_eq!(empty.status().as_u16(), 502);
        assert_eq!(
            empty.text().await.unwrap(),
            r#"{"error":{"code":"internal","message":"bad gateway"}}"#
        );
        assert_eq!(get("/fine").await.unwrap().text().await.unwrap(), "fine");
    }
}
