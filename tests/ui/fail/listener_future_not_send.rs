// An async listener of the right shape whose future is not `Send`: it holds an `Rc` across
// an `.await`. The error says so in a note.
use std::rc::Rc;

use model_core::{Backend, Conn, Model};

#[derive(Model)]
#[listens_for(after_insert, count)]
struct Post {
    id: Option<i64>,
}

async fn count<DB: Backend>(post: &Post, conn: &mut Conn<DB>) -> Result<(), model_core::Error> {
    let seen = Rc::new(post.id);
    Post::find(&mut *conn, 1).await?;
    drop(seen);
    Ok(())
}

fn main() {}
