//! A generic async listener awaits every read and write of model-core on its `Conn`:
//! queries, raw SQL reads, streams, `Tracked` writes, bulk writes, schema creation and a
//! nested transaction. Each is a plain `fn` returning a `Send` future, not an `async fn`,
//! which a generic listener could not await (rust-lang/rust#64552: "implementation of
//! `Acquire` is not general enough", reported as a listener of the wrong shape).

use model_core::{Backend, Conn, Error, Model, TrackChanges};

#[derive(Debug, Clone, Model)]
#[model(table = "books", track_changes)]
struct Book {
    id: Option<i64>,
    copies: i32,
}

#[derive(Debug, Clone, Model)]
#[model(table = "plain")]
struct Plain {
    id: Option<i64>,
    copies: i32,
}

#[derive(Debug, Clone, Model)]
#[listens_for(before_delete, a_get)]
#[listens_for(after_delete, b_plain_update)]
#[listens_for(after_insert, c_tracked_update)]
#[listens_for(after_update, d_bare_update)]
struct Loan {
    id: Option<i64>,
    book_id: i64,
}

async fn a_get<DB: Backend>(loan: &Loan, conn: &mut Conn<DB>) -> Result<(), Error> {
    let _ = Book::get(&mut *conn, loan.book_id).await?;
    Ok(())
}
async fn b_plain_update<DB: Backend>(loan: &Loan, conn: &mut Conn<DB>) -> Result<(), Error> {
    let mut p = Plain::get(&mut *conn, loan.book_id).await?;
    p.copies += 1;
    p.update(conn).await
}
async fn c_tracked_update<DB: Backend>(loan: &Loan, conn: &mut Conn<DB>) -> Result<(), Error> {
    let mut b = Book { id: Some(loan.book_id), copies: 1 }.track();
    b.copies += 1;
    b.update(conn).await
}
async fn d_bare_update<DB: Backend>(loan: &Loan, conn: &mut Conn<DB>) -> Result<(), Error> {
    let mut b = Book { id: Some(loan.book_id), copies: 1 };
    b.copies += 1;
    b.update(conn).await
}

#[derive(Debug, Clone, Model)]
#[listens_for(before_insert, e_everything)]
struct Other {
    id: Option<i64>,
}

async fn e_everything<DB: Backend>(_o: &mut Other, conn: &mut Conn<DB>) -> Result<(), Error> {
    let _ = Plain::filter(|p| p.copies.gt(1)).all(&mut *conn).await?;
    let _ = Plain::filter(|p| p.copies.gt(1)).first(&mut *conn).await?;
    let _ = Plain::filter(|p| p.copies.gt(1)).one(&mut *conn).await?;
    let _ = Plain::filter(|p| p.copies.gt(1)).count(&mut *conn).await?;
    let _ = Plain::filter(|p| p.copies.gt(1)).exists(&mut *conn).await?;
    let _ = Plain::filter(|p| p.copies.gt(1)).update(|p| p.copies.set(2), &mut *conn).await?;
    let _ = Book::filter(|p| p.copies.gt(1)).update(|p| p.copies.set(2), &mut *conn).await?;
    let _ = Plain::filter(|p| p.copies.gt(1)).delete(&mut *conn).await?;
    let _ = Plain::from_sql(sqlx::query("SELECT 1")).all(&mut *conn).await?;
    let _ = Plain::from_sql(sqlx::query("SELECT 1")).first(&mut *conn).await?;
    let mut s = Plain::query().stream(&mut *conn);
    while let Some(p) = s.next().await {
        let _ = p?;
    }
    drop(s);
    let _ = Plain::find(&mut *conn, 1).await?;
    let _ = Plain::all(&mut *conn).await?;
    let mut v = vec![Plain { id: None, copies: 1 }];
    Plain::insert_all(&mut v, &mut *conn).await?;
    Plain::update_all(&mut v, &mut *conn).await?;
    Plain::delete_all(&v, &mut *conn).await?;
    let mut t = vec![Book { id: None, copies: 1 }.track()];
    t[0].insert(&mut *conn).await?;
    model_core::Tracked::update_all(&mut t, &mut *conn).await?;
    model_core::schema::Schema::new().model::<Plain>().create_all(&mut *conn).await?;
    Plain::create_table(&mut *conn).await?;
    model_core::transaction(&mut *conn, |c| {
        Box::pin(async move {
            Plain { id: None, copies: 1 }.insert(&mut *c).await?;
            Ok::<_, Error>(())
        })
    })
    .await?;
    Ok(())
}

fn main() {}
