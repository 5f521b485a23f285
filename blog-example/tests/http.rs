//! The blog over real HTTP: the server runs on an ephemeral port, on a fresh database of
//! each backend, and a real client talks to it. After every refused request the database is
//! checked for "nothing written".

use std::path::PathBuf;
use std::time::{Duration, Instant};

use blog_example::db::{migrate, Pools};
use blog_example::post_writer::GroupCommitMode;
use blog_example::routes::{app, app_with, app_with_request_timeout, AppOptions, BODY_LIMIT};
use blog_example::ServeOptions;
use model_tests::{per_backend, TestBackend, TestDb};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Migrates `db` and serves the app on it; returns the base URL and a client.
async fn start<DB: TestBackend>(db: &TestDb<DB>) -> (String, Client) {
    migrate(&db.pool).await.expect("migrations");
    let addr = blog_example::spawn(app(Pools::single(db.pool.clone())))
        .await
        .expect("server");
    (format!("http://{addr}"), Client::new())
}

async fn json_of(response: reqwest::Response) -> Value {
    response.json().await.expect("a JSON body")
}

async fn add_post_answers_as_the_tutorial_and_the_listener_sets_created_at<DB: TestBackend>(
    db: &TestDb<DB>,
) {
    let (base, client) = start(db).await;
    let response = client.get(format!("{base}/add_post")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "Post added successfully!");
    let posts = json_of(client.get(format!("{base}/posts")).send().await.unwrap()).await;
    assert_eq!(posts.as_array().unwrap().len(), 1);
    assert_eq!(posts[0]["title"], "New Post");
    assert_eq!(posts[0]["content"], "This is a new post");
    assert!(
        posts[0]["created_at"].is_string(),
        "before_insert set created_at: {posts}"
    );
    assert!(posts[0]["updated_at"].is_null());
}

async fn json_api_creates_reads_lists_updates_and_deletes<DB: TestBackend>(db: &TestDb<DB>) {
    let (base, client) = start(db).await;
    let mut ids = Vec::new();
    for n in 1..=3 {
        let response = client
            .post(format!("{base}/posts"))
            .json(&json!({"title": format!("Post {n}"), "content": "body"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        let post = json_of(response).await;
        assert!(post["created_at"].is_string());
        ids.push(post["id"].as_i64().expect("id filled in"));
    }
    let one = json_of(
        client
            .get(format!("{base}/posts/{}", ids[0]))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(one["title"], "Post 1");

    // Newest first, limited, offset.
    let page = json_of(
        client
            .get(format!("{base}/posts?limit=2"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let titles: Vec<&str> = page
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Post 3", "Post 2"]);
    let rest = json_of(
        client
            .get(format!("{base}/posts?limit=2&offset=2"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(rest[0]["title"], "Post 1");

    let response = client
        .put(format!("{base}/posts/{}", ids[1]))
        .json(&json!({"title": "Edited", "content": "new body"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let edited = json_of(response).await;
    assert_eq!(edited["title"], "Edited");
    assert!(
        edited["updated_at"].is_string(),
        "before_update set updated_at"
    );
    let stored = json_of(
        client
            .get(format!("{base}/posts/{}", ids[1]))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(stored["content"], "new body");
    assert_eq!(stored["updated_at"], edited["updated_at"]);

    let response = client
        .delete(format!("{base}/posts/{}", ids[2]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = client
        .get(format!("{base}/posts/{}", ids[2]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(db.count("posts").await, 2);
}

async fn invalid_titles_get_422_and_write_nothing<DB: TestBackend>(db: &TestDb<DB>) {
    let (base, client) = start(db).await;
    for (title, message) in [
        ("", "title is required"),
        ("   ", "title is required"),
        (
            &"é".repeat(81)[..],
            "title cannot be stored: the column holds at most 80 characters",
        ),
    ] {
        let response = client
            .post(format!("{base}/posts"))
            .json(&json!({"title": title, "content": "x"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = json_of(response).await;
        assert_eq!(body["error"]["code"], "invalid_post");
        assert_eq!(body["error"]["message"], message);
    }
    assert_eq!(db.count("posts").await, 0);

    // 80 characters (multi-byte) are fine.
    let response = client
        .post(format!("{base}/posts"))
        .json(&json!({"title": "é".repeat(80), "content": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let id = json_of(response).await["id"].as_i64().unwrap();

    // An invalid update changes nothing.
    let response = client
        .put(format!("{base}/posts/{id}"))
        .json(&json!({"title": "", "content": "changed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let stored = json_of(
        client
            .get(format!("{base}/posts/{id}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(stored["content"], "x");
    assert!(stored["updated_at"].is_null());
}

/// A value the database cannot hold is the client's to fix (422), and the answer gives the
/// reason without naming the database that serves the app: PostgreSQL's text cannot hold
/// the NUL character, the others store it.
async fn a_value_the_database_cannot_hold_gets_422_naming_no_database<DB: TestBackend>(
    db: &TestDb<DB>,
) {
    let (base, client) = start(db).await;
    let response = client
        .post(format!("{base}/posts"))
        .json(&json!({"title": "a\u{0}b", "content": "x"}))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body = response.text().await.unwrap();
    for vendor in ["PostgreSQL", "Postgres", "MySQL", "MariaDB", "SQLite"] {
        assert!(
            !body.to_lowercase().contains(&vendor.to_lowercase()),
            "{vendor} in {body}"
        );
    }
    if db.dialect() == model_core::Dialect::Postgres {
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["error"]["code"], "invalid_post");
        assert_eq!(
            body["error"]["message"],
            "title cannot be stored: text cannot hold the NUL character (\\0) in this database"
        );
        assert_eq!(db.count("posts").await, 0);
    } else {
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["title"], "a\u{0}b");
    }
}

async fn client_mistakes_get_clear_4xx_and_write_nothing<DB: TestBackend>(db: &TestDb<DB>) {
    let (base, client) = start(db).await;
    let post = |body: String, content_type: &'static str| {
        client
            .post(format!("{base}/posts"))
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let cases = [
        (
            post("{\"title\": \"x\"".into(), "application/json")
                .await
                .unwrap(),
            400,
            "malformed_json",
        ),
        (
            post("title=x".into(), "application/x-www-form-urlencoded")
                .await
                .unwrap(),
            415,
            "unsupported_media_type",
        ),
        (
            post("{\"title\": \"x\"}".into(), "application/json")
                .await
                .unwrap(),
            422,
            "invalid_json",
        ),
        // serde's derive would take the fields as an array, in declaration order.
        (
            post("[\"t\", \"c\"]".into(), "application/json")
                .await
                .unwrap(),
            422,
            "invalid_json",
        ),
        (
            client
                .put(format!("{base}/posts/1"))
                .header("content-type", "application/json")
                .body("[\"t\", \"c\"]")
                .send()
                .await
                .unwrap(),
            422,
            "invalid_json",
        ),
        (
            post("\"t\"".into(), "application/json").await.unwrap(),
            422,
            "invalid_json",
        ),
        (
            post(
                "{\"title\": \"x\", \"content\": \"y\", \"admin\": true}".into(),
                "application/json",
            )
            .await
            .unwrap(),
            422,
            "invalid_json",
        ),
        (
            post(
                format!(
                    "{{\"title\": \"x\", \"content\": \"{}\"}}",
                    "a".repeat(BODY_LIMIT)
                ),
                "application/json",
            )
            .await
            .unwrap(),
            413,
            "payload_too_large",
        ),
        (
            client.get(format!("{base}/nowhere")).send().await.unwrap(),
            404,
            "not_found",
        ),
        (
            client
                .patch(format!("{base}/posts/1"))
                .send()
                .await
                .unwrap(),
            405,
            "method_not_allowed",
        ),
        (
            client
                .get(format!("{base}/posts/abc"))
                .send()
                .await
                .unwrap(),
            400,
            "bad_id",
        ),
        (
            client
                .get(format!("{base}/posts/999"))
                .send()
                .await
                .unwrap(),
            404,
            "not_found",
        ),
        (
            client
                .delete(format!("{base}/posts/999"))
                .send()
                .await
                .unwrap(),
            404,
            "not_found",
        ),
        (
            client
                .get(format!("{base}/posts?limit=0"))
                .send()
                .await
                .unwrap(),
            400,
            "bad_query",
        ),
        (
            client
                .get(format!("{base}/posts?limit=1000"))
                .send()
                .await
                .unwrap(),
            400,
            "bad_query",
        ),
        (
            client
                .get(format!("{base}/posts?limit=x"))
                .send()
                .await
                .unwrap(),
            400,
            "bad_query",
        ),
    ];
    for (response, status, code) in cases {
        let url = response.url().to_string();
        assert_eq!(response.status().as_u16(), status, "{url}");
        let body = json_of(response).await;
        assert_eq!(body["error"]["code"], code, "{url}: {body}");
        assert!(body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
    }
    assert_eq!(db.count("posts").await, 0);
}

async fn sixty_four_concurrent_add_posts_all_succeed_and_all_are_stored<DB: TestBackend>(
    db: &TestDb<DB>,
) {
    let (base, client) = start(db).await;
    let requests = (0..64).map(|_| {
        let client = client.clone();
        let url = format!("{base}/add_post");
        tokio::spawn(async move { client.get(url).send().await.map(|r| r.status()) })
    });
    let mut ok = 0;
    for request in requests.collect::<Vec<_>>() {
        assert_eq!(request.await.unwrap().unwrap(), StatusCode::OK);
        ok += 1;
    }
    assert_eq!(ok, 64);
    assert_eq!(db.count("posts").await, 64);
}

/// Concurrent `POST /posts` through the group commit, two of them invalid: each request
/// gets its own answer.
/// The valid ones 201 with ids of their own, each naming its own row; the refused ones
/// 422 with their own reason, and nothing of them stored; exactly one row per 201.
async fn concurrent_posts_in_a_group_each_get_their_own_answer<DB: TestBackend>(db: &TestDb<DB>) {
    let (base, client) = start(db).await;
    let requests: Vec<_> = (0..48)
        .map(|n| {
            let title = match n {
                17 => "  ".to_owned(),
                31 => "x".repeat(81),
                n => format!("grouped {n}"),
            };
            let request = client
                .post(format!("{base}/posts"))
                .json(&json!({"title": title, "content": format!("body {n}")}));
            tokio::spawn(async move {
                let response = request.send().await.unwrap();
                (title, response.status(), json_of(response).await)
            })
        })
        .collect();
    let mut stored = std::collections::HashMap::new();
    for (n, request) in requests.into_iter().enumerate() {
        let (title, status, body) = request.await.unwrap();
        match n {
            17 | 31 => {
                assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{n}: {body}");
                let expected = if n == 17 {
                    "title is required"
                } else {
                    "title cannot be stored: the column holds at most 80 characters"
                };
                assert_eq!(body["error"]["message"], expected);
            }
            _ => {
                assert_eq!(status, StatusCode::CREATED, "{n}: {body}");
                assert_eq!(body["title"], title.as_str());
                assert!(body["created_at"].is_string(), "before_insert ran: {body}");
                let id = body["id"].as_i64().expect("an id");
                assert!(stored.insert(id, title).is_none(), "id {id} answered twice");
            }
        }
    }
    assert_eq!(stored.len(), 46);
    assert_eq!(db.count("posts").await, 46);
    let listed = json_of(
        client
            .get(format!("{base}/posts?limit=100"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    for post in listed.as_array().unwrap() {
        let id = post["id"].as_i64().unwrap();
        assert_eq!(
            post["title"],
            stored[&id].as_str(),
            "row {id} is its request's"
        );
    }
}

/// With `--group-commit off` each request inserts its own post: the same answers.
async fn without_the_group_commit_posts_are_stored_one_by_one<DB: TestBackend>(db: &TestDb<DB>) {
    migrate(&db.pool).await.expect("migrations");
    let options = AppOptions {
        group_commit: GroupCommitMode::Off,
        ..AppOptions::default()
    };
    let addr = blog_example::spawn(app_with(Pools::single(db.pool.clone()), options))
        .await
        .expect("server");
    let (base, client) = (format!("http://{addr}"), Client::new());
    let requests: Vec<_> = (0..16)
        .map(|_| tokio::spawn(client.get(format!("{base}/add_post")).send()))
        .collect();
    for request in requests {
        assert_eq!(request.await.unwrap().unwrap().status(), StatusCode::OK);
    }
    for (title, status) in [
        ("one", StatusCode::CREATED),
        (" ", StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let response = client
            .post(format!("{base}/posts"))
            .json(&json!({"title": title, "content": "c"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status);
    }
    assert_eq!(db.count("posts").await, 17);
}

/// A database failure is a 500 whose body names nothing of the server: no SQL, no table, no
/// driver message, no path. The details go to the log.
async fn database_failures_answer_500_without_leaking_internals<DB: TestBackend>(db: &TestDb<DB>) {
    let (base, client) = start(db).await;
    // The comments reference the posts: they go first.
    db.exec(&format!("DROP TABLE {}", db.quote("comments")))
        .await;
    db.exec(&format!("DROP TABLE {}", db.quote("posts"))).await;
    for request in [
        client.get(format!("{base}/add_post")),
        client.get(format!("{base}/posts")),
        client.get(format!("{base}/posts/1")),
        client
            .post(format!("{base}/posts"))
            .json(&json!({"title": "t", "content": "c"})),
    ] {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = response.text().await.unwrap();
        assert_eq!(
            body,
            r#"{"error":{"code":"internal","message":"internal server error"}}"#
        );
    }
    // Put the table back for the harness's clean-up check.
    migrate_again(db).await;
}

/// The migrator recorded `posts` as created; forget that and migrate again.
async fn migrate_again<DB: TestBackend>(db: &TestDb<DB>) {
    db.exec(&format!("DELETE FROM {}", db.quote("_sqlx_migrations")))
        .await;
    migrate(&db.pool).await.expect("migrations");
}

/// `GET /posts?title=` is a typed filter whose text is bound and matched literally
/// (`%` and `_` included); `DELETE /posts?older_than_days=N` deletes exactly the posts older
/// than N days, each through its delete listeners.
async fn title_search_and_deleting_old_posts<DB: TestBackend>(db: &TestDb<DB>) {
    let (base, client) = start(db).await;
    for title in [
        "Rust 100%",
        "Rust 100 percent",
        "rust_lang",
        "Python",
        "x' OR '1'='1",
    ] {
        let response = client
            .post(format!("{base}/posts"))
            .json(&json!({"title": title, "content": "c"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    let titles = |body: Value| -> Vec<String> {
        body.as_array()
            .unwrap()
            .iter()
            .map(|p| p["title"].as_str().unwrap().to_owned())
            .collect()
    };
    let search = |text: &str| {
        let encoded: String = text
            .bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect();
        client.get(format!("{base}/posts?title={encoded}")).send()
    };
    assert_eq!(
        titles(json_of(search("100%").await.unwrap()).await),
        ["Rust 100%"]
    );
    assert_eq!(
        titles(json_of(search("_").await.unwrap()).await),
        ["rust_lang"]
    );
    assert_eq!(
        titles(json_of(search("' OR '1'='1").await.unwrap()).await),
        ["x' OR '1'='1"]
    );
    assert_eq!(
        titles(json_of(search("nothing").await.unwrap()).await).len(),
        0
    );

    // Two posts made "old" by hand; the set-based delete takes exactly those.
    db.exec(&format!(
        "UPDATE {} SET {} = {} WHERE {} IN ('Python', 'rust_lang')",
        db.quote("posts"),
        db.quote("created_at"),
        match db.dialect() {
            model_core::Dialect::Sqlite => "'2000-01-01T00:00:00Z'",
            _ => "'2000-01-01 00:00:00'",
        },
        db.quote("title"),
    ))
    .await;
    let response = client
        .delete(format!("{base}/posts?older_than_days=30"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(json_of(response).await, json!({"deleted": 2}));
    assert_eq!(db.count("posts").await, 3);
    let response = client
        .delete(format!("{base}/posts?older_than_days=many"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

/// Comments on posts: added, shown with their post, refused when empty or on a missing
/// post, and deleted with their post, each through its own listeners, whose log lines
/// show it (the post's delete cascades to them in its transaction).
async fn comments_are_shown_with_their_post_and_deleted_through_their_listeners<DB: TestBackend>(
    db: &TestDb<DB>,
) {
    let (base, client) = start(db).await;
    let post = |title: &str| {
        client
            .post(format!("{base}/posts"))
            .json(&json!({"title": title, "content": "body"}))
            .send()
    };
    let first = json_of(post("First").await.unwrap()).await["id"]
        .as_i64()
        .unwrap();
    let other = json_of(post("Other").await.unwrap()).await["id"]
        .as_i64()
        .unwrap();
    let comment = |on: i64, author: &str, body: &str| {
        client
            .post(format!("{base}/posts/{on}/comments"))
            .json(&json!({"author": author, "body": body}))
            .send()
    };
    for (on, author) in [(first, "ada"), (first, "bob"), (other, "eve")] {
        let response = comment(on, author, "nice").await.unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        let stored = json_of(response).await;
        assert_eq!(stored["post_id"], on);
        assert!(stored["created_at"].is_string());
    }
    // Refused: no post, no body (a listener's veto), and nothing written.
    assert_eq!(
        comment(999_999, "ada", "hi").await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        comment(first, "ada", " ").await.unwrap().status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(db.count("comments").await, 3);
    assert_eq!(db.count("comment_log").await, 3);

    let shown = json_of(
        client
            .get(format!("{base}/posts/{first}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(shown["title"], "First");
    let authors: Vec<&str> = shown["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["author"].as_str().unwrap())
        .collect();
    assert_eq!(authors, ["ada", "bob"]);

    let response = client
        .delete(format!("{base}/posts/{first}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(db.count("comments").await, 1);
    let deleted: i64 = db
        .scalar(&format!(
            "SELECT COUNT(*) FROM {} WHERE {} = 'deleted' AND {} = {first}",
            db.quote("comment_log"),
            db.quote("event"),
            db.quote("post_id")
        ))
        .await;
    assert_eq!(deleted, 2, "each comment's after_delete listener ran once");
}

per_backend!(
    comments_are_shown_with_their_post_and_deleted_through_their_listeners,
    title_search_and_deleting_old_posts,
    database_failures_answer_500_without_leaking_internals,
    add_post_answers_as_the_tutorial_and_the_listener_sets_created_at,
    json_api_creates_reads_lists_updates_and_deletes,
    invalid_titles_get_422_and_write_nothing,
    a_value_the_database_cannot_hold_gets_422_naming_no_database,
    client_mistakes_get_clear_4xx_and_write_nothing,
    sixty_four_concurrent_add_posts_all_succeed_and_all_are_stored,
    concurrent_posts_in_a_group_each_get_their_own_answer,
    without_the_group_commit_posts_are_stored_one_by_one,
);

/// The binary's own SQLite set-up (file database, WAL, separate writer and reader pools)
/// under concurrent load: no "database is locked", every answered request stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_file_database_serves_parallel_writes_and_reads() {
    let dir = std::env::temp_dir().join(format!("blog-example-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}/blog.db", dir.display());
    let opened = blog_example::open(&url).await.expect("open");
    let addr = blog_example::spawn(opened.router).await.unwrap();
    let client = Client::new();
    let tasks: Vec<_> = (0..128)
        .map(|n| {
            let client = client.clone();
            let url = if n % 2 == 0 {
                format!("http://{addr}/add_post")
            } else {
                format!("http://{addr}/posts?limit=5")
            };
            tokio::spawn(async move { client.get(url).send().await.map(|r| r.status()) })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap(), StatusCode::OK);
    }
    let pools = blog_example::db::connect_sqlite(&url).await.unwrap();
    let stored = <blog_example::model::Post as model_core::Model>::all(&pools.read)
        .await
        .unwrap();
    assert_eq!(stored.len(), 64);
    std::fs::remove_dir_all(&dir).ok();
}

/// A SQLite file database in a directory of its own, removed on drop.
struct TempSqlite {
    dir: PathBuf,
    url: String,
}

impl TempSqlite {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("blog-example-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}/blog.db", dir.display());
        TempSqlite { dir, url }
    }
}

impl Drop for TempSqlite {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.dir).ok();
    }
}

/// An HTTP/1.1 answer read off a raw socket.
#[derive(Debug)]
struct RawResponse {
    status: u16,
    /// The header lines, lower-cased.
    headers: String,
    body: String,
}

/// Reads one answer from `stream`: `None` if the server closed the connection (or reset it)
/// before sending one. Gives up after `within`.
async fn read_response(stream: &mut TcpStream, within: Duration) -> Option<RawResponse> {
    let mut buffer = Vec::new();
    let read = async {
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buffer[..end]).to_ascii_lowercase();
                let length: usize = head
                    .lines()
                    .find_map(|line| line.strip_prefix("content-length:"))
                    .map_or(0, |value| value.trim().parse().unwrap());
                if buffer.len() >= end + 4 + length {
                    let status = head[9..12].parse().unwrap();
                    let body = String::from_utf8_lossy(&buffer[end + 4..end + 4 + length]);
                    return Some(RawResponse {
                        status,
                        headers: head,
                        body: body.into_owned(),
                    });
                }
            }
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return None,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        }
    };
    match tokio::time::timeout(within, read).await {
        Ok(answer) => answer,
        Err(_) => panic!("neither an answer nor a close within {within:?}"),
    }
}

/// The blog on a fresh SQLite file, served with `options` and `request_timeout` until
/// `shutdown` resolves. Returns its address and the server's task.
async fn serve_sqlite(
    db: &TempSqlite,
    options: ServeOptions,
    request_timeout: Duration,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> (
    std::net::SocketAddr,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let pools = blog_example::db::connect_sqlite(&db.url).await.unwrap();
    migrate(&pools.write).await.unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = app_with_request_timeout(pools, request_timeout);
    let server = tokio::spawn(blog_example::serve_with(
        listener, router, shutdown, options,
    ));
    (addr, server)
}

/// A client that sends half a request head and then nothing is disconnected once the header
/// read timeout has passed; a head that arrives in pieces within it is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_head_never_finished_is_closed_after_the_header_read_timeout() {
    let db = TempSqlite::new("header-timeout");
    let options = ServeOptions {
        header_read_timeout: Duration::from_secs(1),
        ..ServeOptions::default()
    };
    let (addr, _server) = serve_sqlite(
        &db,
        options,
        blog_example::routes::REQUEST_TIMEOUT,
        std::future::pending(),
    )
    .await;

    let mut stalled = TcpStream::connect(addr).await.unwrap();
    stalled
        .write_all(b"GET /posts HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let start = Instant::now();
    let answer = read_response(&mut stalled, Duration::from_secs(10)).await;
    assert!(answer.is_none(), "closed without an answer: {answer:?}");
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(3),
        "closed after {waited:?}, with a 1 s header read timeout"
    );

    // Slow but in time: the timeout bounds the whole head, not each read.
    let mut slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /posts HTTP/1.1\r\n").await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    slow.write_all(b"Host: x\r\n\r\n").await.unwrap();
    let answer = read_response(&mut slow, Duration::from_secs(5))
        .await
        .expect("an answer");
    assert_eq!((answer.status, answer.body.as_str()), (200, "[]"));
}

/// After the shutdown signal the server stops accepting, closes idle connections at once and,
/// once the grace period is over, the connections still open: a client stalled in the middle
/// of its request head does not hold the shutdown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_connections_still_open_after_the_grace_period() {
    let db = TempSqlite::new("shutdown");
    let options = ServeOptions {
        // Long, so that only the shutdown deadline can close the stalled client.
        header_read_timeout: Duration::from_secs(60),
        shutdown_grace: Duration::from_secs(1),
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (addr, server) = serve_sqlite(
        &db,
        options,
        blog_example::routes::REQUEST_TIMEOUT,
        async move {
            let _ = stopped.await;
        },
    )
    .await;

    // One idle keep-alive connection, one stalled in its head.
    let mut idle = TcpStream::connect(addr).await.unwrap();
    idle.write_all(b"GET /posts HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let answer = read_response(&mut idle, Duration::from_secs(5))
        .await
        .expect("an answer");
    assert_eq!(answer.status, 200);
    let mut stalled = TcpStream::connect(addr).await.unwrap();
    stalled
        .write_all(b"GET /posts HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;

    let start = Instant::now();
    stop.send(()).unwrap();
    assert!(
        read_response(&mut idle, Duration::from_millis(500))
            .await
            .is_none(),
        "the idle connection closes at once"
    );
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("the server stops within its grace period")
        .unwrap()
        .unwrap();
    let took = start.elapsed();
    assert!(
        took < Duration::from_secs(3),
        "stopped after {took:?}, with a 1 s grace period"
    );
    assert!(
        read_response(&mut stalled, Duration::from_secs(1))
            .await
            .is_none(),
        "the stalled connection is closed"
    );
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "no longer accepting"
    );
}

/// Errors produced around the handlers (the request timeout, the body limit, routing) are
/// JSON like every other error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_from_the_layers_have_json_bodies() {
    let db = TempSqlite::new("layer-errors");
    let (addr, _server) = serve_sqlite(
        &db,
        ServeOptions::default(),
        Duration::from_secs(1),
        std::future::pending(),
    )
    .await;
    let exchange = |request: Vec<u8>| async move {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(&request).await.unwrap();
        // The stream stays open (a body may be unfinished) until the answer is read.
        let answer = read_response(&mut stream, Duration::from_secs(5)).await;
        answer.expect("an answer")
    };

    // A body that never finishes: the request times out while the handler reads it.
    let start = Instant::now();
    let timed_out = exchange(
        b"POST /posts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
          Content-Length: 100\r\n\r\n{\"title\": \"t\""
            .to_vec(),
    )
    .await;
    assert!(start.elapsed() >= Duration::from_millis(900));
    let too_large = exchange(
        format!(
            "POST /posts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{}",
            BODY_LIMIT + 1,
            " ".repeat(BODY_LIMIT + 1)
        )
        .into_bytes(),
    )
    .await;
    let wrong_method = exchange(b"PATCH /posts HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()).await;
    let no_route = exchange(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()).await;
    for (answer, status, code) in [
        (timed_out, 408, "timeout"),
        (too_large, 413, "payload_too_large"),
        (wrong_method, 405, "method_not_allowed"),
        (no_route, 404, "not_found"),
    ] {
        assert_eq!(answer.status, status, "{answer:?}");
        assert!(
            answer.headers.contains("content-type: application/json"),
            "{answer:?}"
        );
        let body: Value = serde_json::from_str(&answer.body)
            .unwrap_or_else(|e| panic!("{e}: a JSON body in {answer:?}"));
        assert_eq!(body["error"]["code"], code, "{answer:?}");
        assert!(body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
    }
    let pools = blog_example::db::connect_sqlite(&db.url).await.unwrap();
    let stored = <blog_example::model::Post as model_core::Model>::all(&pools.read)
        .await
        .unwrap();
    assert!(stored.is_empty(), "nothing written: {stored:?}");
}

/// The binary, run with standard output and standard error on `/dev/full` (every write
/// fails with ENOSPC): its start-up lines and per-request log lines are lost, but every
/// request is answered, and SIGTERM still stops it cleanly.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_are_answered_when_the_log_cannot_be_written() {
    use std::process::{Child, Command, Stdio};

    /// Kills the server if the test fails before stopping it.
    struct Server(Child);
    impl Drop for Server {
        fn drop(&mut self) {
            if let Ok(None) = self.0.try_wait() {
                let _ = self.0.kill();
                let _ = self.0.wait();
            }
        }
    }

    let db = TempSqlite::new("full-disk");
    // A free port for the child: its own "listening on" line cannot be read.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let full = || {
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full")
    };
    let mut server = Server(
        Command::new(env!("CARGO_BIN_EXE_blog-example"))
            .args(["--bind", &format!("127.0.0.1:{port}")])
            .args(["--database-url", &db.url])
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(full())
            .stderr(full())
            .spawn()
            .expect("start the blog"),
    );
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        if let Some(status) = server.0.try_wait().unwrap() {
            panic!("the blog exited before listening: {status}");
        }
        assert!(Instant::now() < deadline, "the blog is not listening");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let client = Client::new();
    for _ in 0..3 {
        let response = client.get(format!("{base}/add_post")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    let response = client
        .post(format!("{base}/posts"))
        .json(&json!({"title": "t", "content": "c"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let posts = json_of(client.get(format!("{base}/posts")).send().await.unwrap()).await;
    assert_eq!(posts.as_array().unwrap().len(), 4);
    let response = client.get(format!("{base}/nowhere")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    let killed = Command::new("kill")
        .args(["-TERM", &server.0.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "SIGTERM did not stop the blog");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "the blog stopped with {status}");
}
