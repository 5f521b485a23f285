//! Navigation follows a `references` field: a model that has none to the parent, or two,
//! does not compile, and the error says which field to add or how to choose.

use model_core::Model;

#[derive(Model)]
struct Post {
    id: Option<i64>,
}

#[derive(Model)]
struct User {
    id: Option<i64>,
}

#[derive(Model)]
struct Comment {
    id: Option<i64>,
    #[model(references = Post)]
    post_id: i64,
}

/// Two fields reference `User`: neither is followed.
#[derive(Model)]
struct Message {
    id: Option<i64>,
    #[model(references = User)]
    sender_id: i64,
    #[model(references = User)]
    recipient_id: Option<i64>,
}

struct NotAModel;

/// A misspelled parent: one error, at the path.
#[derive(Model)]
struct Reply {
    id: Option<i64>,
    #[model(references = Comnent, on_delete = "cascade")]
    comment_id: i64,
}

async fn navigate(pool: sqlx::SqlitePool, post: Post, user: User, comment: Comment) {
    // No field of `Comment` references `User`.
    let _ = user.children::<Comment>();
    // Which of `Message`'s two fields?
    let _ = user.children::<Message>();
    // Not a model at all.
    let _ = post.children::<NotAModel>();
    // A parent `Comment` does not reference.
    let _: Option<User> = comment.parent(&pool).await.unwrap();
}

fn main() {}
