//! A second application, written from the README alone as a new user would: a lending
//! library (members, books, loans, an audit trail) on all three backends, its tables created
//! from its models. Listeners keep the stock of copies and the audit trail in the loan's
//! transaction; the tests borrow, return, veto, race and feed hostile values through it.

use chrono::{DateTime, NaiveDate, Utc};
use model_core::schema::Schema;
use model_core::sqlx::types::{Decimal, JsonValue, Uuid};
use model_core::{
    transaction, Backend, ColumnType, Conn, ConstraintKind, Error, Event, Model, TrackChanges,
};
use model_tests::{per_backend, TestBackend, TestDb};
use serde_json::json;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ColumnType)]
#[column(rename_all = "snake_case")]
enum LoanStatus {
    Out,
    Returned,
    #[column(rename = "gone")]
    Lost,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ColumnType)]
struct MemberId(i64);

#[derive(Debug, Clone, PartialEq, Model)]
#[model(table = "members")]
struct Member {
    id: Option<MemberId>,
    #[model(length = 60)]
    name: String,
    #[model(unique)]
    email: String,
    card: Uuid,
    joined: DateTime<Utc>,
    prefs: JsonValue,
}

#[derive(Debug, Clone, PartialEq, Model)]
#[model(table = "books", track_changes)]
#[listens_for(before_insert, normalize_isbn)]
#[listens_for(after_update, audit_book)]
struct Book {
    id: Option<i64>,
    #[model(length = 13, unique)]
    isbn: String,
    #[model(length = 200, index)]
    title: String,
    price: Decimal,
    copies: i32,
    #[model(version)]
    version: i32,
}

#[derive(Debug, Clone, PartialEq, Model)]
#[model(table = "loans")]
#[listens_for(before_insert, take_copy)]
#[listens_for(after_insert, audit_loan)]
#[listens_for(before_delete, give_back)]
struct Loan {
    #[model(primary_key, references = Member)]
    member_id: MemberId,
    #[model(primary_key, references = Book)]
    book_id: i64,
    status: LoanStatus,
    due: NaiveDate,
}

#[derive(Debug, Clone, Model)]
#[model(table = "audit")]
struct Audit {
    id: Option<i64>,
    entry: String,
}

/// The veto of a loan when the book has no copy left.
#[derive(Debug)]
struct NoCopies;

impl std::fmt::Display for NoCopies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("no copies left")
    }
}

impl std::error::Error for NoCopies {}

fn normalize_isbn(book: &mut Book) {
    book.isbn.retain(|c| c.is_ascii_digit() || c == 'X');
}

async fn audit_book<DB: Backend>(
    book: &Book,
    changes: &BookChanges,
    conn: &mut Conn<DB>,
) -> Result<(), Error> {
    if let Some(copies) = changes.copies() {
        let entry = format!("book {} copies {} -> {}", book.isbn, copies.old, copies.new);
        Audit { id: None, entry }.insert(conn).await?;
    }
    Ok(())
}

/// Takes one copy of the book in the loan's transaction, or vetoes the loan.
async fn take_copy<DB: Backend>(
    loan: &mut Loan,
    conn: &mut Conn<DB>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut book = Book::get(&mut *conn, loan.book_id).await?.track();
    if book.copies == 0 {
        return Err(Box::new(NoCopies));
    }
    book.copies -= 1;
    book.update(&mut *conn).await?;
    loan.status = LoanStatus::Out;
    Ok(())
}

async fn audit_loan<DB: Backend>(loan: &Loan, conn: &mut Conn<DB>) -> Result<(), Error> {
    let entry = format!("member {} borrowed book {}", loan.member_id.0, loan.book_id);
    Audit { id: None, entry }.insert(conn).await
}

async fn give_back<DB: Backend>(loan: &Loan, conn: &mut Conn<DB>) -> Result<(), Error> {
    let mut book = Book::get(&mut *conn, loan.book_id).await?.track();
    book.copies += 1;
    book.update(conn).await
}

fn schema() -> Schema {
    Schema::new()
        .model::<Member>()
        .model::<Book>()
        .model::<Loan>()
        .model::<Audit>()
}

fn member(name: &str, email: &str) -> Member {
    Member {
        id: None,
        name: name.into(),
        email: email.into(),
        card: Uuid::from_u128(0x0123_4567_89ab_cdef_fedc_ba98_7654_3210),
        joined: DateTime::from_timestamp(1_700_000_000, 123_456_000).unwrap(),
        prefs: json!({"newsletter": true, "genres": ["sf", "noir"]}),
    }
}

fn book(isbn: &str, title: &str, copies: i32) -> Book {
    Book {
        id: None,
        isbn: isbn.into(),
        title: title.into(),
        price: Decimal::new(1250, 2),
        copies,
        version: 1,
    }
}

fn due() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 24).unwrap()
}

fn loan(member: &Member, book: &Book) -> Loan {
    Loan {
        member_id: member.id.unwrap(),
        book_id: book.id.unwrap(),
        status: LoanStatus::Returned,
        due: due(),
    }
}

async fn entries<DB: TestBackend>(db: &TestDb<DB>) -> Vec<String> {
    let mut entries: Vec<_> = Audit::all(&db.pool).await.unwrap();
    entries.sort_by_key(|a| a.id);
    entries.into_iter().map(|a| a.entry).collect()
}

/// Members, books and a loan through the listeners: the stock, the audit trail and every
/// column type come back as written.
async fn a_loan_takes_a_copy_and_is_audited<DB: TestBackend>(db: &TestDb<DB>) {
    schema().create_all(&db.pool).await.unwrap();
    let mut ann = member("Ann O'Neil \"the reader\"", "ann@example.com");
    ann.insert(&db.pool).await.unwrap();
    let mut dune = book("978-0-441-17271-9", "Dune", 2);
    dune.insert(&db.pool).await.unwrap();
    assert_eq!(
        dune.isbn, "9780441172719",
        "before_insert's change is written"
    );

    let mut first = loan(&ann, &dune);
    first.insert(&db.pool).await.unwrap();
    assert_eq!(first.status, LoanStatus::Out);

    let stored = Loan::get(&db.pool, (first.member_id, first.book_id))
        .await
        .unwrap();
    assert_eq!(stored, first);
    let dune = Book::get(&db.pool, dune.id.unwrap()).await.unwrap();
    assert_eq!((dune.copies, dune.version), (1, 2));
    // MySQL's `DECIMAL(65, 28)` gives it back with 28 decimals: compare values.
    assert_eq!(dune.price, Decimal::new(1250, 2));
    assert_eq!(Member::get(&db.pool, ann.id.unwrap()).await.unwrap(), ann);
    let borrowed = format!(
        "member {} borrowed book {}",
        ann.id.unwrap().0,
        dune.id.unwrap()
    );
    assert_eq!(
        entries(db).await,
        ["book 9780441172719 copies 2 -> 1".to_owned(), borrowed]
    );

    // A member with a book out cannot leave: the loan names them (a foreign key).
    let error = ann.delete(&db.pool).await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::Constraint {
                model: "Member",
                kind: ConstraintKind::ForeignKey,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(db.count("members").await, 1);

    // Returning it: the `before_delete` listener puts the copy back, in the same transaction.
    stored.delete(&db.pool).await.unwrap();
    assert_eq!(
        Book::get(&db.pool, dune.id.unwrap()).await.unwrap().copies,
        2
    );
    assert_eq!(db.count("loans").await, 0);
}

/// The last copy cannot be lent twice: the second loan is vetoed with the listener's own
/// error as its source, and leaves no row and no audit entry.
async fn a_loan_of_a_book_with_no_copies_is_vetoed_and_leaves_nothing<DB: TestBackend>(
    db: &TestDb<DB>,
) {
    schema().create_all(&db.pool).await.unwrap();
    let (mut ann, mut bob) = (member("Ann", "ann@x.org"), member("Bob", "bob@x.org"));
    ann.insert(&db.pool).await.unwrap();
    bob.insert(&db.pool).await.unwrap();
    let mut last = book("0000000001", "The Last Copy", 1);
    last.insert(&db.pool).await.unwrap();
    loan(&ann, &last).insert(&db.pool).await.unwrap();
    let before = entries(db).await;

    let error = loan(&bob, &last).insert(&db.pool).await.unwrap_err();
    match &error {
        Error::Listener {
            model,
            event,
            listener,
            source,
        } => {
            assert_eq!(
                (*model, *event, *listener),
                ("Loan", Event::BeforeInsert, "take_copy")
            );
            assert!(source.downcast_ref::<NoCopies>().is_some(), "{source:?}");
        }
        other => panic!("expected the listener's veto, got {other:?}"),
    }
    assert_eq!(db.count("loans").await, 1);
    assert_eq!(entries(db).await, before);
    assert_eq!(
        Book::get(&db.pool, last.id.unwrap()).await.unwrap().copies,
        0
    );
}

/// Two loans in one transaction: when the second is vetoed and the body returns the error,
/// the first loan, its copy and its audit entries are rolled back with it.
async fn a_failed_transaction_returns_every_copy<DB: TestBackend>(db: &TestDb<DB>) {
    schema().create_all(&db.pool).await.unwrap();
    let mut ann = member("Ann", "ann@x.org");
    ann.insert(&db.pool).await.unwrap();
    let (mut a, mut b) = (book("1", "A", 3), book("2", "B", 0));
    Book::insert_all(std::slice::from_mut(&mut a), &db.pool)
        .await
        .unwrap();
    b.insert(&db.pool).await.unwrap();
    let (first, second) = (loan(&ann, &a), loan(&ann, &b));

    let result = transaction(&db.pool, move |conn| {
        Box::pin(async move {
            first.clone().insert(&mut *conn).await?;
            second.clone().insert(&mut *conn).await?;
            Ok::<_, Error>(())
        })
    })
    .await;
    assert!(
        matches!(
            result,
            Err(Error::Listener {
                listener: "take_copy",
                ..
            })
        ),
        "{result:?}"
    );
    assert_eq!(db.count("loans").await, 0);
    assert_eq!(db.count("audit").await, 0);
    assert_eq!(Book::get(&db.pool, a.id.unwrap()).await.unwrap().copies, 3);
}

/// Hostile text is stored as given; a name one character over its length, a duplicate email
/// and a stale book are refused with typed errors and write nothing.
async fn hostile_and_refused_values<DB: TestBackend>(db: &TestDb<DB>) {
    schema().create_all(&db.pool).await.unwrap();
    let hostile = "Robert'); DROP TABLE members;-- \\ % _ \u{1F4DA} é\t\n";
    let mut bobby = member(hostile, "bobby@x.org");
    bobby.prefs = json!({"quote": "'\"", "emoji": "\u{1F600}", "nested": {"a": [1, 2.5, null]}});
    bobby.insert(&db.pool).await.unwrap();
    assert_eq!(
        Member::get(&db.pool, bobby.id.unwrap()).await.unwrap(),
        bobby
    );
    let found = Member::filter(|m| m.name.eq(hostile))
        .all(&db.pool)
        .await
        .unwrap();
    assert_eq!(found, [bobby.clone()]);
    // `like` escapes: a literal `%` in the pattern matches only a `%`.
    let pattern = Member::filter(|m| m.name.like("%\\%%"))
        .count(&db.pool)
        .await
        .unwrap();
    assert_eq!(pattern, 1);

    // 60 characters of four bytes each fit; 61 do not, on every backend alike.
    let mut long = member(&"\u{1F4D6}".repeat(60), "long@x.org");
    long.insert(&db.pool).await.unwrap();
    let mut too_long = member(&"\u{1F4D6}".repeat(61), "too-long@x.org");
    let error = too_long.insert(&db.pool).await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::Value {
                model: "Member",
                column: "name",
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "Member.name cannot be written: the column holds at most 60 characters"
    );
    assert!(too_long.id.is_none());
    // Each limit names its own length (the reasons are made once per limit and kept).
    let mut epic = book("1", &"x".repeat(201), 1);
    let error = epic.insert(&db.pool).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "Book.title cannot be written: the column holds at most 200 characters"
    );
    let error = member(&"y".repeat(61), "y@x.org")
        .insert(&db.pool)
        .await
        .unwrap_err();
    assert!(
        error.to_string().ends_with("at most 60 characters"),
        "{error}"
    );

    let mut twin = member("Twin", "bobby@x.org");
    let error = twin.insert(&db.pool).await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::Constraint {
                model: "Member",
                kind: ConstraintKind::Unique,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(twin.id.is_none(), "a refused insert sets no key");
    assert_eq!(db.count("members").await, 2);

    // Optimistic locking: two copies of a book, the second write is a conflict.
    let mut dune = book("42", "Dune", 1);
    dune.insert(&db.pool).await.unwrap();
    let (mut one, mut two) = (dune.clone(), dune.clone());
    one.copies = 5;
    one.update(&db.pool).await.unwrap();
    two.title = "Dune Messiah".into();
    let error = two.update(&db.pool).await.unwrap_err();
    assert!(
        matches!(error, Error::Conflict { model: "Book", .. }),
        "{error:?}"
    );
    let stored = Book::get(&db.pool, dune.id.unwrap()).await.unwrap();
    assert_eq!((stored.title.as_str(), stored.copies), ("Dune", 5));
}

/// Queries over the loans: by enum, by date, set-based updates that run each row's
/// listeners, and deletes of composite keys.
async fn loans_are_queried_and_changed_in_sets<DB: TestBackend>(db: &TestDb<DB>) {
    schema().create_all(&db.pool).await.unwrap();
    let mut members = vec![member("A", "a@x.org"), member("B", "b@x.org")];
    Member::insert_all(&mut members, &db.pool).await.unwrap();
    let mut books: Vec<Book> = (0..3)
        .map(|i| book(&format!("{i}"), &format!("Book {i}"), 5))
        .collect();
    Book::insert_all(&mut books, &db.pool).await.unwrap();
    let mut loans: Vec<Loan> = members
        .iter()
        .flat_map(|m| books.iter().map(move |b| loan(m, b)))
        .collect();
    Loan::insert_all(&mut loans, &db.pool).await.unwrap();
    assert_eq!(db.count("loans").await, 6);
    for b in &books {
        assert_eq!(Book::get(&db.pool, b.id.unwrap()).await.unwrap().copies, 3);
    }

    let a = members[0].id.unwrap();
    let lost = Loan::filter(|l| l.member_id.eq(a).and(l.status.eq(LoanStatus::Out)))
        .update(|l| l.status.set(LoanStatus::Lost), &db.pool)
        .await
        .unwrap();
    assert_eq!(lost, 3);
    assert_eq!(
        Loan::filter(|l| l.status.eq(LoanStatus::Lost))
            .count(&db.pool)
            .await
            .unwrap(),
        3
    );
    let overdue = Loan::filter(|l| l.due.lt(NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()))
        .order_by(|l| l.book_id.desc())
        .all(&db.pool)
        .await
        .unwrap();
    assert_eq!(overdue.len(), 6);
    assert!(overdue.windows(2).all(|w| w[0].book_id >= w[1].book_id));

    // Returning every loan of member B through a set-based delete: `give_back` runs per row.
    let b = members[1].id.unwrap();
    let returned = Loan::filter(|l| l.member_id.eq(b))
        .delete(&db.pool)
        .await
        .unwrap();
    assert_eq!(returned, 3);
    for book in &books {
        assert_eq!(
            Book::get(&db.pool, book.id.unwrap()).await.unwrap().copies,
            4
        );
    }
    // And member A's, by key.
    let rest = Loan::all(&db.pool).await.unwrap();
    assert_eq!(rest.len(), 3);
    Loan::delete_all(&rest, &db.pool).await.unwrap();
    assert_eq!(db.count("loans").await, 0);
    for book in &books {
        assert_eq!(
            Book::get(&db.pool, book.id.unwrap()).await.unwrap().copies,
            5
        );
    }
}

/// Members racing for the last copy of a book, each in a loan of its own: exactly one
/// gets it, the stock never goes below zero, and every loser gets an error.
async fn a_race_for_the_last_copy_has_one_winner<DB: TestBackend>(db: &TestDb<DB>) {
    schema().create_all(&db.pool).await.unwrap();
    let mut readers: Vec<Member> = (0..6)
        .map(|i| member(&format!("R{i}"), &format!("r{i}@x.org")))
        .collect();
    Member::insert_all(&mut readers, &db.pool).await.unwrap();
    let mut last = book("7", "Last", 1);
    last.insert(&db.pool).await.unwrap();

    let mut racers = tokio::task::JoinSet::new();
    for reader in &readers {
        let (pool, mut loan) = (db.pool.clone(), loan(reader, &last));
        racers.spawn(async move { loan.insert(&pool).await });
    }
    let mut won = 0;
    while let Some(result) = racers.join_next().await {
        match result.expect("no panic") {
            Ok(()) => won += 1,
            Err(Error::OutcomeUnknown { .. }) => panic!("no connection was lost"),
            Err(_) => {}
        }
    }
    assert_eq!(won, 1);
    assert_eq!(db.count("loans").await, 1);
    assert_eq!(
        Book::get(&db.pool, last.id.unwrap()).await.unwrap().copies,
        0
    );
    assert_eq!(db.count("audit").await, 2, "one copy taken, one loan");
}

per_backend!(
    a_loan_takes_a_copy_and_is_audited,
    a_loan_of_a_book_with_no_copies_is_vetoed_and_leaves_nothing,
    a_failed_transaction_returns_every_copy,
    hostile_and_refused_values,
    loans_are_queried_and_changed_in_sets;
    file: a_race_for_the_last_copy_has_one_winner,
);
