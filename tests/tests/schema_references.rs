//! Foreign keys declared on the model (`#[model(references = Member, on_delete = "...")]`),
//! created by `Schema` and enforced by each backend: a child naming no parent is refused, a
//! parent with children is not deleted (or takes them along, or lets go of them), and the
//! key columns have the referenced key's type (MySQL refuses a foreign key otherwise).
//!
//! SQLite enforces foreign keys only with `PRAGMA foreign_keys = ON`: the harness's
//! databases (`fresh` and `fresh_file`) set it, as sqlx's `SqliteConnectOptions` does by
//! default.

use model_core::schema::Schema;
use model_core::{ConstraintKind, Dialect, Error, Model};
use model_tests::{per_backend, TestBackend, TestDb};

#[derive(Debug, Clone, PartialEq, Model)]
#[model(table = "members")]
struct Member {
    id: Option<i64>,
    name: String,
}

/// No `on_delete`: the database's default, which refuses to delete a referenced member.
#[derive(Debug, Clone, PartialEq, Model)]
#[model(table = "loans")]
struct Loan {
    id: Option<i64>,
    #[model(references = Member)]
    member_id: i64,
    title: String,
}

#[derive(Debug, Clone, PartialEq, Model)]
#[model(table = "holds")]
struct Hold {
    id: Option<i64>,
    #[model(references = Member, on_delete = "restrict")]
    member_id: i64,
}

#[derive(Debug, Clone, PartialEq, Model)]
#[model(table = "cards")]
struct Card {
    id: Option<i64>,
    #[model(references = crate::Member, on_delete = "cascade")]
    member_id: i64,
}

#[derive(Debug, Clone, PartialEq, Model)]
#[model(table = "notes")]
struct Note {
    id: Option<i64>,
    #[model(references = Member, on_delete = "set_null")]
    member_id: Option<i64>,
    text: String,
}

/// A key of text the model sets, and a 32-bit generated key: the referencing columns get
/// the same types (`VARCHAR(255)` and `INT` on MySQL).
#[derive(Debug, Clone, PartialEq, Model)]
#[model(table = "shelves")]
struct Shelf {
    #[model(primary_key)]
    code: String,
}

#[derive(Debug, Clone, PartialEq, Model)]
#[model(table = "genres")]
struct Genre {
    id: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Model)]
#[model(table = "books")]
struct Book {
    id: Option<i64>,
    #[model(references = Shelf)]
    shelf: String,
    #[model(references = Genre, on_delete = "set_null")]
    genre_id: Option<i32>,
}

/// A model that references itself.
#[derive(Debug, Clone, PartialEq, Model)]
#[model(table = "nodes")]
struct Node {
    id: Option<i64>,
    #[model(references = Self, on_delete = "cascade")]
    parent_id: Option<i64>,
}

fn schema() -> Schema {
    Schema::new()
        .model::<Member>()
        .model::<Loan>()
        .model::<Hold>()
        .model::<Card>()
        .model::<Note>()
        .model::<Shelf>()
        .model::<Genre>()
        .model::<Book>()
        .model::<Node>()
}

async fn member<DB: TestBackend>(db: &TestDb<DB>, name: &str) -> Member {
    let mut member = Member {
        id: None,
        name: name.into(),
    };
    member.insert(&db.pool).await.unwrap();
    member
}

fn assert_foreign_key(result: Result<(), Error>, model: &str) {
    match result {
        Err(Error::Constraint {
            model: refused,
            kind: ConstraintKind::ForeignKey,
            ..
        }) if refused == model => {}
        other => panic!("expected a foreign key violation of {model}, got {other:?}"),
    }
}

async fn a_child_that_names_no_parent_is_refused_and_nothing_written<DB: TestBackend>(
    db: &TestDb<DB>,
) {
    schema().create_all(&db.pool).await.unwrap();
    let ada = member(db, "ada").await;
    let mut orphan = Loan {
        id: None,
        member_id: ada.id.unwrap() + 1,
        title: "Dune".into(),
    };
    assert_foreign_key(orphan.insert(&db.pool).await, "Loan");
    assert_eq!(orphan.id, None);
    assert_eq!(db.count("loans").await, 0);

    // A batch with one orphan writes none of its rows.
    let mut batch = vec![
        Loan {
            member_id: ada.id.unwrap(),
            ..orphan.clone()
        },
        orphan,
    ];
    assert_foreign_key(Loan::insert_all(&mut batch, &db.pool).await, "Loan");
    assert_eq!(db.count("loans").await, 0);

    // An update that points a child at no parent is refused too, and leaves the row.
    let mut loan = batch.remove(0);
    loan.insert(&db.pool).await.unwrap();
    let mut moved = loan.clone();
    moved.member_id += 100;
    assert_foreign_key(moved.update(&db.pool).await, "Loan");
    assert_eq!(Loan::get(&db.pool, loan.id.unwrap()).await.unwrap(), loan);

    // Keys of text and of 32 bits.
    let mut shelf = Shelf { code: "A1".into() };
    shelf.insert(&db.pool).await.unwrap();
    let mut book = Book {
        id: None,
        shelf: "B2".into(),
        genre_id: None,
    };
    assert_foreign_key(book.insert(&db.pool).await, "Book");
    book.shelf = "A1".into();
    book.genre_id = Some(7);
    assert_foreign_key(book.insert(&db.pool).await, "Book");
    let mut genre = Genre { id: None };
    genre.insert(&db.pool).await.unwrap();
    book.genre_id = genre.id;
    book.insert(&db.pool).await.unwrap();
    assert_eq!(db.count("books").await, 1);
}

async fn a_parent_with_children_is_not_deleted<DB: TestBackend>(db: &TestDb<DB>) {
    schema().create_all(&db.pool).await.unwrap();
    let ada = member(db, "ada").await;
    let bob = member(db, "bob").await;
    let mut loan = Loan {
        id: None,
        member_id: ada.id.unwrap(),
        title: "Dune".into(),
    };
    loan.insert(&db.pool).await.unwrap();
    let mut hold = Hold {
        id: None,
        member_id: bob.id.unwrap(),
    };
    hold.insert(&db.pool).await.unwrap();

    // No `on_delete`, and `restrict`: both refuse.
    assert_foreign_key(ada.clone().delete(&db.pool).await, "Member");
    assert_foreign_key(bob.clone().delete(&db.pool).await, "Member");
    assert_eq!(db.count("members").await, 2);
    assert_eq!(Loan::all(&db.pool).await.unwrap(), [loan.clone()]);
    assert_eq!(Hold::all(&db.pool).await.unwrap(), [hold.clone()]);

    // Without its children, the parent goes.
    loan.delete(&db.pool).await.unwrap();
    ada.delete(&db.pool).await.unwrap();
    assert_eq!(Member::all(&db.pool).await.unwrap(), [bob]);
}

async fn cascade_deletes_the_children_with_their_parent<DB: TestBackend>(db: &TestDb<DB>) {
    schema().create_all(&db.pool).await.unwrap();
    let ada = member(db, "ada").await;
    let bob = member(db, "bob").await;
    for owner in [&ada, &ada, &bob] {
        let mut card = Card {
            id: None,
            member_id: owner.id.unwrap(),
        };
        card.insert(&db.pool).await.unwrap();
    }
    ada.delete(&db.pool).await.unwrap();
    let left = Card::all(&db.pool).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].member_id, bob.id.unwrap());

    // A model that references itself: a subtree goes with its root.
    let mut root = Node {
        id: None,
        parent_id: None,
    };
    root.insert(&db.pool).await.unwrap();
    let mut child = Node {
        id: None,
        parent_id: root.id,
    };
    child.insert(&db.pool).await.unwrap();
    let mut grandchild = Node {
        id: None,
        parent_id: child.id,
    };
    grandchild.insert(&db.pool).await.unwrap();
    root.delete(&db.pool).await.unwrap();
    assert_eq!(db.count("nodes").await, 0);
}

async fn set_null_lets_go_of_the_deleted_parent<DB: TestBackend>(db: &TestDb<DB>) {
    schema().create_all(&db.pool).await.unwrap();
    let ada = member(db, "ada").await;
    let bob = member(db, "bob").await;
    let mut notes = vec![
        Note {
            id: None,
            member_id: ada.id,
            text: "a".into(),
        },
        Note {
            id: None,
            member_id: bob.id,
            text: "b".into(),
        },
        Note {
            id: None,
            member_id: None,
            text: "nobody's".into(),
        },
    ];
    Note::insert_all(&mut notes, &db.pool).await.unwrap();
    ada.delete(&db.pool).await.unwrap();
    let stored = Note::all(&db.pool).await.unwrap();
    assert_eq!(
        stored.iter().map(|n| n.member_id).collect::<Vec<_>>(),
        [None, bob.id, None]
    );
    assert_eq!(stored[0].text, "a");
}

per_backend!(
    a_child_that_names_no_parent_is_refused_and_nothing_written,
    a_parent_with_children_is_not_deleted,
    cascade_deletes_the_children_with_their_parent,
    set_null_lets_go_of_the_deleted_parent,
);

/// The DDL of each dialect: a column's `REFERENCES` on SQLite and PostgreSQL, a table
/// constraint on MySQL (InnoDB ignores a column's `REFERENCES`).
#[test]
fn each_dialect_declares_the_foreign_key() {
    let sql = |dialect| {
        Schema::new()
            .model::<Member>()
            .model::<Loan>()
            .model::<Card>()
            .model::<Book>()
            .sql(dialect)
    };
    assert_eq!(
        sql(Dialect::Sqlite)[1..],
        [
            "CREATE TABLE IF NOT EXISTS \"loans\" (\n    \
             \"id\" INTEGER PRIMARY KEY AUTOINCREMENT,\n    \
             \"member_id\" INTEGER NOT NULL REFERENCES \"members\" (\"id\"),\n    \
             \"title\" TEXT NOT NULL\n)",
            "CREATE TABLE IF NOT EXISTS \"cards\" (\n    \
             \"id\" INTEGER PRIMARY KEY AUTOINCREMENT,\n    \
             \"member_id\" INTEGER NOT NULL REFERENCES \"members\" (\"id\") ON DELETE CASCADE\n)",
            "CREATE TABLE IF NOT EXISTS \"books\" (\n    \
             \"id\" INTEGER PRIMARY KEY AUTOINCREMENT,\n    \
             \"shelf\" TEXT NOT NULL REFERENCES \"shelves\" (\"code\"),\n    \
             \"genre_id\" INTEGER REFERENCES \"genres\" (\"id\") ON DELETE SET NULL\n)",
        ]
    );
    assert_eq!(
        sql(Dialect::Postgres)[1..],
        [
            "CREATE TABLE IF NOT EXISTS \"loans\" (\n    \
             \"id\" BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,\n    \
             \"member_id\" BIGINT NOT NULL REFERENCES \"members\" (\"id\"),\n    \
             \"title\" TEXT NOT NULL\n)",
            "CREATE TABLE IF NOT EXISTS \"cards\" (\n    \
             \"id\" BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,\n    \
             \"member_id\" BIGINT NOT NULL REFERENCES \"members\" (\"id\") ON DELETE CASCADE\n)",
            "CREATE TABLE IF NOT EXISTS \"books\" (\n    \
             \"id\" BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,\n    \
             \"shelf\" TEXT NOT NULL REFERENCES \"shelves\" (\"code\"),\n    \
             \"genre_id\" INTEGER REFERENCES \"genres\" (\"id\") ON DELETE SET NULL\n)",
        ]
    );
    assert_eq!(
        sql(Dialect::MySql)[1..],
        [
            "CREATE TABLE IF NOT EXISTS `loans` (\n    \
             `id` BIGINT AUTO_INCREMENT PRIMARY KEY,\n    \
             `member_id` BIGINT NOT NULL,\n    \
             `title` LONGTEXT NOT NULL,\n    \
             FOREIGN KEY (`member_id`) REFERENCES `members` (`id`)\n\
             ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
            "CREATE TABLE IF NOT EXISTS `cards` (\n    \
             `id` BIGINT AUTO_INCREMENT PRIMARY KEY,\n    \
             `member_id` BIGINT NOT NULL,\n    \
             FOREIGN KEY (`member_id`) REFERENCES `members` (`id`) ON DELETE CASCADE\n\
             ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
            // The referencing text is bounded, as the referenced key is: MySQL indexes it.
            "CREATE TABLE IF NOT EXISTS `books` (\n    \
             `id` BIGINT AUTO_INCREMENT PRIMARY KEY,\n    \
             `shelf` VARCHAR(255) NOT NULL,\n    \
             `genre_id` INT,\n    \
             FOREIGN KEY (`shelf`) REFERENCES `shelves` (`code`),\n    \
             FOREIGN KEY (`genre_id`) REFERENCES `genres` (`id`) ON DELETE SET NULL\n\
             ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
        ]
    );

    // SQLite's `RESTRICT` fails as a trigger, not as a foreign key: its default refuses the
    // same deletes, as a foreign key error.
    let hold = |dialect| Schema::new().model::<Hold>().sql(dialect).remove(0);
    assert!(hold(Dialect::Sqlite)
        .contains("\"member_id\" INTEGER NOT NULL REFERENCES \"members\" (\"id\")\n)"));
    assert!(hold(Dialect::Postgres).contains(
        "\"member_id\" BIGINT NOT NULL REFERENCES \"members\" (\"id\") ON DELETE RESTRICT\n)"
    ));
    assert!(hold(Dialect::MySql)
        .contains("FOREIGN KEY (`member_id`) REFERENCES `members` (`id`) ON DELETE RESTRICT\n)"));
}
