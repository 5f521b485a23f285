//! First light: one model through every operation on every backend.

use chrono::{DateTime, Utc};
use model_core::schema::Schema;
use model_core::{Backend, Conn, Event, Model};
use model_tests::{per_backend, TestBackend, TestDb};

#[derive(Debug, Clone, Model)]
#[model(table = "posts")]
#[listens_for(before_insert, set_created_at)]
#[listens_for(after_insert, audit)]
struct Post {
    #[model(primary_key)]
    id: Option<i64>,
    title: String,
    created_at: Option<DateTime<Utc>>,
}

fn set_created_at(post: &mut Post) {
    post.created_at = Some(Utc::now());
}

#[derive(Debug, Model)]
struct AuditEntry {
    id: Option<i64>,
    post_id: i64,
}

async fn audit<DB: Backend>(post: &Post, conn: &mut Conn<DB>) -> Result<(), model_core::Error> {
    AuditEntry {
        id: None,
        post_id: post.id.expect("key set before after_insert"),
    }
    .insert(conn)
    .await
}

async fn insert_runs_listeners<DB: TestBackend>(db: &TestDb<DB>) {
    Schema::new()
        .model::<Post>()
        .model::<AuditEntry>()
        .create_all(&db.pool)
        .await
        .unwrap();
    let mut post = Post {
        id: None,
        title: "hello".into(),
        created_at: None,
    };
    post.insert(&db.pool).await.unwrap();
    assert!(post.id.is_some());
    let stored = Post::get(&db.pool, post.id.unwrap()).await.unwrap();
    assert_eq!(stored.title, "hello");
    assert!(stored.created_at.is_some());
    assert_eq!(db.count("audit_entry").await, 1);
    assert_eq!(Post::listeners(Event::BeforeInsert).count(), 1);
}

per_backend!(insert_runs_listeners);
