//! The blog over real HTTP: the server runs on an ephemeral port, on a fresh database of
//! each backend, and a real client talks to it. After every refused request the database is
//! checked for "nothing written".

use blog_example::db::{migrate, Pools};
use blog_example::routes::{app, BODY_LIMIT};
use model_tests::{per_backend, TestBackend, TestDb};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

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
            "title is 81 characters long; at most 80 are allowed",
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

/// A database failure is a 500 whose body names nothing of the server: no SQL, no table, no
/// driver message, no path. The details go to the log.
async fn database_failures_answer_500_without_leaking_internals<DB: TestBackend>(db: &TestDb<DB>) {
    let (base, client) = start(db).await;
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

/// The migrations recorded `posts` as created; recreate it by hand with the same DDL.
async fn migrate_again<DB: TestBackend>(db: &TestDb<DB>) {
    db.exec(&format!("DELETE FROM {}", db.quote("blog_migrations")))
        .await;
    migrate(&db.pool).await.expect("migrations");
}

per_backend!(
    database_failures_answer_500_without_leaking_internals,
    add_post_answers_as_the_tutorial_and_the_listener_sets_created_at,
    json_api_creates_reads_lists_updates_and_deletes,
    invalid_titles_get_422_and_write_nothing,
    client_mistakes_get_clear_4xx_and_write_nothing,
    sixty_four_concurrent_add_posts_all_succeed_and_all_are_stored,
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
