use model_core::{Backend, Conn, Model};

// After the commit there is no transaction to use and nothing to veto.
#[derive(Clone, Model)]
#[listens_for(after_insert_commit, needs_conn, can_fail)]
struct Post {
    id: Option<i64>,
}

// Rails' and SQLAlchemy's name: ours says which write.
#[derive(Clone, Model)]
#[listens_for(after_commit, notify)]
struct Comment {
    id: Option<i64>,
}

async fn needs_conn<DB: Backend>(_: &Post, _: &mut Conn<DB>) -> Result<(), std::io::Error> {
    Ok(())
}

fn can_fail(_: &Post) -> Result<(), std::io::Error> {
    Ok(())
}

fn notify(_: &Comment) {}

// The listeners run after the write has returned, on a clone of the model.
#[derive(Model)]
#[listens_for(after_delete_commit, forget)]
struct Session {
    id: Option<i64>,
}

fn forget(_: &Session) {}

fn main() {}
