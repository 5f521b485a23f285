//! Typed filters, ordering and paging, reads (`all`, `first`, `one`, `count`, `exists`,
//! `stream`), raw SQL reads, and set-based `update`/`delete` that run every listener once per
//! affected row, atomically. Each test runs on SQLite, PostgreSQL and MySQL.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;

use model_core::schema::Schema;
use model_core::{transaction, Backend, Conn, Dialect, Error, Event, Model};
use model_tests::{per_backend, MysqlCounters, TestBackend, TestDb};

/// A model without listeners: every filter operator, and set-based writes as one statement.
#[derive(Debug, Clone, PartialEq, Model)]
#[model(table = "items")]
struct Item {
    id: Option<i64>,
    name: String,
    rank: i32,
    score: Option<f64>,
    note: Option<String>,
    flag: bool,
}

fn item(name: &str, rank: i32, score: Option<f64>, note: Option<&str>) -> Item {
    Item {
        id: None,
        name: name.into(),
        rank,
        score,
        note: note.map(Into::into),
        flag: false,
    }
}

/// Five items inserted in `rank` order, 1 to 5; `score` and `note` have `NULL`s. Returns
/// their keys, the item of rank `r` at `keys[r - 1]`. The keys grow in insertion order but
/// are not 1 to 5 on every server: a Galera cluster steps MySQL's generated keys by its size
/// from an offset per node (`wsrep_auto_increment_control`). So the tests name rows by
/// rank ([`ranks`]) and look a key up here where they need one.
async fn items<DB: TestBackend>(db: &TestDb<DB>) -> Vec<i64> {
    Item::create_table(&db.pool).await.unwrap();
    let mut rows = vec![
        item("apple", 1, Some(2.5), Some("red")),
        item("banana", 2, None, Some("yellow")),
        item("cherry", 3, Some(1.5), None),
        item("date", 4, None, None),
        item("elder_berry", 5, Some(3.5), Some("50% off")),
    ];
    Item::insert_all(&mut rows, &db.pool).await.unwrap();
    let keys: Vec<i64> = rows.iter().map(|i| i.id.unwrap()).collect();
    assert!(
        keys.windows(2).all(|pair| pair[0] < pair[1]),
        "keys grow in insertion order: {keys:?}"
    );
    keys
}

/// Which items `items` are, in their order, by rank (unique; in key order, rank order).
fn ranks(items: &[Item]) -> Vec<i64> {
    items.iter().map(|i| i64::from(i.rank)).collect()
}

/// The ranks of the items `filter` selects, in key order.
macro_rules! select {
    ($db:expr, |$p:ident| $filter:expr) => {
        ranks(&Item::filter(|$p| $filter).all(&$db.pool).await.unwrap())
    };
}

async fn every_comparison_selects_the_rows_it_says<DB: TestBackend>(db: &TestDb<DB>) {
    let keys = items(db).await;
    assert_eq!(select!(db, |p| p.rank.eq(3)), [3]);
    assert_eq!(select!(db, |p| p.rank.ne(3)), [1, 2, 4, 5]);
    assert_eq!(select!(db, |p| p.rank.lt(3)), [1, 2]);
    assert_eq!(select!(db, |p| p.rank.le(3)), [1, 2, 3]);
    assert_eq!(select!(db, |p| p.rank.gt(3)), [4, 5]);
    assert_eq!(select!(db, |p| p.rank.ge(3)), [3, 4, 5]);
    assert_eq!(select!(db, |p| p.name.eq("cherry")), [3]);
    let date = "date".to_owned();
    assert_eq!(select!(db, |p| p.name.eq(&date)), [4]);
    assert_eq!(select!(db, |p| p.name.gt("c")), [3, 4, 5]);
    assert_eq!(select!(db, |p| p.score.ge(2.5)), [1, 5]);
    // The keys of ranks 2 and 4, and one no row has.
    let absent = keys[4] + 1;
    assert_eq!(
        select!(db, |p| p.id.in_([keys[1], keys[3], absent])),
        [2, 4]
    );
    assert_eq!(select!(db, |p| p.name.in_(["apple", "date"])), [1, 4]);
    assert_eq!(select!(db, |p| p.flag.eq(false)), [1, 2, 3, 4, 5]);
    // AND binds tighter than OR only where the tree says so: each side is parenthesised.
    assert_eq!(
        select!(db, |p| p
            .rank
            .lt(2)
            .or(p.rank.gt(3).and(p.name.ne("apple")))),
        [1, 4, 5]
    );
    assert_eq!(
        select!(db, |p| p
            .rank
            .lt(2)
            .or(p.rank.gt(3))
            .and(p.name.ne("apple"))),
        [4, 5]
    );
    assert_eq!(select!(db, |p| !p.rank.in_([1, 2])), [3, 4, 5]);
    assert_eq!(select!(db, |p| !(p.rank.eq(1).or(p.rank.eq(5)))), [2, 3, 4]);
    // Narrowing a selection ANDs the filters.
    let narrowed = Item::filter(|p| p.rank.gt(1))
        .filter(|p| p.rank.lt(4))
        .all(&db.pool)
        .await
        .unwrap();
    assert_eq!(ranks(&narrowed), [2, 3]);
}

/// A read that fails (here: no table) is the model's error, as a write's is; a selection
/// prints its page, a filter only that it is one (not its values).
async fn a_failed_read_names_its_model<DB: TestBackend>(db: &TestDb<DB>) {
    for error in [
        Item::query().all(&db.pool).await.unwrap_err(),
        Item::filter(|p| p.rank.gt(1))
            .count(&db.pool)
            .await
            .unwrap_err(),
    ] {
        assert!(
            matches!(error, Error::Database { model: "Item", .. }),
            "{error:?}"
        );
    }
    let mut printed = String::new();
    let page = Item::filter(|p| {
        let filter = p.name.eq("secret");
        printed = format!("{filter:?}");
        filter
    })
    .limit(2)
    .offset(1);
    assert_eq!(printed, "Filter { .. }");
    assert_eq!(
        format!("{page:?}"),
        "Select { limit: Some(2), offset: 1, .. }"
    );
}

/// `to_sql` is the statement `all` sends: run by hand with the same values in the order of
/// its placeholders, it reads the same rows.
async fn to_sql_is_the_statement_all_sends<DB: TestBackend>(db: &TestDb<DB>) {
    items(db).await;
    let select = Item::filter(|p| p.rank.gt(1).and(p.note.is_not_null()))
        .order_by(|p| p.name.desc())
        .limit(2)
        .offset(1);
    let sql = select.to_sql(DB::DIALECT);
    assert!(sql.starts_with("SELECT "), "{sql}");
    let query = sqlx::query(sqlx::AssertSqlSafe(sql));
    let query = DB::bind(DB::bind(DB::bind(query, &1_i32), &2_i64), &1_i64);
    let by_hand = Item::from_sql(query).all(&db.pool).await.unwrap();
    assert_eq!(ranks(&by_hand), [2]);
    assert_eq!(by_hand, select.all(&db.pool).await.unwrap());
}

async fn an_empty_in_list_matches_no_row<DB: TestBackend>(db: &TestDb<DB>) {
    items(db).await;
    assert_eq!(
        select!(db, |p| p.id.in_(Vec::<i64>::new())),
        Vec::<i64>::new()
    );
    assert_eq!(
        select!(db, |p| !p.id.in_(Vec::<i64>::new())),
        [1, 2, 3, 4, 5]
    );
    assert_eq!(
        select!(db, |p| p.id.in_(Vec::<i64>::new()).or(p.rank.eq(2))),
        [2]
    );
}

async fn like_matches_text_with_wildcards_and_escapes<DB: TestBackend>(db: &TestDb<DB>) {
    items(db).await;
    assert_eq!(select!(db, |p| p.name.like("%rr%")), [3, 5]);
    assert_eq!(select!(db, |p| p.name.like("ch%")), [3]);
    assert_eq!(select!(db, |p| p.name.like("_pple")), [1]);
    assert_eq!(select!(db, |p| p.name.like("%_%")), [1, 2, 3, 4, 5]);
    // `\` makes `_` and `%` literal, on every backend.
    assert_eq!(select!(db, |p| p.name.like(r"%\_%")), [5]);
    assert_eq!(select!(db, |p| p.note.like(r"%\%%")), [5]);
    assert_eq!(select!(db, |p| p.note.like(r"50\% off")), [5]);
}

async fn null_is_matched_by_is_null_and_by_eq_none<DB: TestBackend>(db: &TestDb<DB>) {
    items(db).await;
    assert_eq!(select!(db, |p| p.score.is_null()), [2, 4]);
    assert_eq!(select!(db, |p| p.score.is_not_null()), [1, 3, 5]);
    assert_eq!(select!(db, |p| p.score.eq(None)), [2, 4]);
    assert_eq!(select!(db, |p| p.score.ne(None)), [1, 3, 5]);
    assert_eq!(select!(db, |p| p.note.eq(Some("red".to_owned()))), [1]);
    assert_eq!(select!(db, |p| p.note.eq("red")), [1]);
    // A value of the column's own `Option` type may be either: the same filter serves both.
    for (wanted, expected) in [(None, vec![3, 4]), (Some("yellow"), vec![2])] {
        let wanted: Option<String> = wanted.map(Into::into);
        assert_eq!(select!(db, |p| p.note.eq(wanted.clone())), expected);
    }
    let absent: Option<String> = None;
    assert_eq!(select!(db, |p| p.note.ne(absent.clone())), [1, 2, 5]);
    // As in SQL, `<>` and `<` never match NULL, and neither does a negated comparison.
    assert_eq!(select!(db, |p| p.note.ne("red")), [2, 5]);
    assert_eq!(select!(db, |p| p.note.ne(Some("red".to_owned()))), [2, 5]);
    assert_eq!(select!(db, |p| p.score.lt(3.0)), [1, 3]);
    assert_eq!(select!(db, |p| !p.score.lt(3.0)), [5]);
    // An ordering against a value of the `Option` type stays an ordering: `< Some(3.0)` is
    // `< 3.0`, and `< None` matches nothing (only `eq` and `ne` are `NULL`-aware).
    assert_eq!(select!(db, |p| p.score.lt(Some(3.0))), [1, 3]);
    assert_eq!(select!(db, |p| p.score.ge(Some(2.5))), [1, 5]);
    assert_eq!(select!(db, |p| p.score.gt(None)), Vec::<i64>::new());
    let red = "red".to_owned();
    assert_eq!(select!(db, |p| p.note.eq(&red)), [1]);
    assert_eq!(select!(db, |p| p.note.ne(&red)), [2, 5]);
    assert_eq!(
        select!(db, |p| p.note.ne("red").or(p.note.is_null())),
        [2, 3, 4, 5]
    );
}

async fn order_by_then_key_with_nulls_first_ascending<DB: TestBackend>(db: &TestDb<DB>) {
    let keys = items(db).await;
    let order = |select: model_core::Select<Item>| async move {
        ranks(&select.all(&db.pool).await.unwrap())
    };
    assert_eq!(
        order(Item::query().order_by(|p| p.name.desc())).await,
        [5, 4, 3, 2, 1]
    );
    // NULL sorts first ascending and last descending on every backend; ties by key.
    assert_eq!(
        order(Item::query().order_by(|p| p.score)).await,
        [2, 4, 3, 1, 5]
    );
    assert_eq!(
        order(Item::query().order_by(|p| p.score.desc())).await,
        [5, 1, 3, 2, 4]
    );
    assert_eq!(
        order(
            Item::query()
                .order_by(|p| p.note)
                .order_by(|p| p.rank.desc())
        )
        .await,
        [4, 3, 5, 1, 2]
    );
    assert_eq!(
        order(Item::query().order_by(|p| p.id.desc())).await,
        [5, 4, 3, 2, 1]
    );
    // Ties are ordered by key whatever order the table keeps its rows in: PostgreSQL keeps
    // an updated row's new version after the others, and sorts without keeping the order
    // rows come in.
    for rank in [3, 1] {
        let mut row = Item::get(&db.pool, keys[rank - 1]).await.unwrap();
        row.name.push('!');
        row.update(&db.pool).await.unwrap();
    }
    assert_eq!(
        order(Item::query().order_by(|p| p.flag)).await,
        [1, 2, 3, 4, 5]
    );
    assert_eq!(
        order(Item::query().order_by(|p| p.flag.desc())).await,
        [1, 2, 3, 4, 5]
    );
}

async fn limit_and_offset_page_through_the_order<DB: TestBackend>(db: &TestDb<DB>) {
    items(db).await;
    let page = |limit: u64, offset: u64| async move {
        ranks(
            &Item::query()
                .order_by(|p| p.score.desc())
                .limit(limit)
                .offset(offset)
                .all(&db.pool)
                .await
                .unwrap(),
        )
    };
    assert_eq!(page(2, 0).await, [5, 1]);
    assert_eq!(page(2, 2).await, [3, 2]);
    assert_eq!(page(2, 4).await, [4]);
    assert_eq!(page(2, 6).await, Vec::<i64>::new());
    assert_eq!(page(0, 0).await, Vec::<i64>::new());
    let skipped = Item::query().offset(3).all(&db.pool).await.unwrap();
    assert_eq!(ranks(&skipped), [4, 5], "an offset without a limit");
}

async fn count_exists_first_and_one_answer_for_the_selection<DB: TestBackend>(db: &TestDb<DB>) {
    let keys = items(db).await;
    let pool = &db.pool;
    assert_eq!(Item::query().count(pool).await.unwrap(), 5);
    assert_eq!(Item::filter(|p| p.rank.gt(2)).count(pool).await.unwrap(), 3);
    assert_eq!(Item::filter(|p| p.rank.gt(9)).count(pool).await.unwrap(), 0);
    // A count of a page counts the page.
    assert_eq!(Item::query().limit(2).count(pool).await.unwrap(), 2);
    assert_eq!(Item::query().offset(2).count(pool).await.unwrap(), 3);
    assert_eq!(
        Item::query().offset(4).limit(3).count(pool).await.unwrap(),
        1
    );
    assert!(Item::filter(|p| p.name.eq("date"))
        .exists(pool)
        .await
        .unwrap());
    assert!(!Item::filter(|p| p.name.eq("fig"))
        .exists(pool)
        .await
        .unwrap());
    assert!(!Item::query().offset(5).exists(pool).await.unwrap());

    let first = Item::query()
        .order_by(|p| p.rank.desc())
        .first(pool)
        .await
        .unwrap();
    assert_eq!(first.unwrap().name, "elder_berry");
    assert_eq!(
        Item::filter(|p| p.rank.gt(9)).first(pool).await.unwrap(),
        None
    );

    let one = Item::filter(|p| p.name.eq("cherry"))
        .one(pool)
        .await
        .unwrap();
    assert_eq!(
        one,
        Item {
            id: Some(keys[2]),
            ..item("cherry", 3, Some(1.5), None)
        }
    );
    match Item::filter(|p| p.rank.gt(9)).one(pool).await {
        Err(Error::NoRows { model: "Item" }) => {}
        other => panic!("expected NoRows, got {other:?}"),
    }
    match Item::filter(|p| p.rank.gt(3)).one(pool).await {
        Err(Error::TooManyRows { model: "Item" }) => {}
        other => panic!("expected TooManyRows, got {other:?}"),
    }
}

async fn filter_values_are_refused_where_the_backend_would_change_them<DB: TestBackend>(
    db: &TestDb<DB>,
) {
    let keys = items(db).await;
    let result = Item::filter(|p| p.score.eq(f64::NAN)).all(&db.pool).await;
    match (DB::DIALECT, result) {
        (Dialect::Postgres, Ok(rows)) => assert!(rows.is_empty()),
        (
            Dialect::Sqlite | Dialect::MySql,
            Err(Error::Value {
                column: "score", ..
            }),
        ) => {}
        (dialect, other) => panic!("{dialect:?}: {other:?}"),
    }
    let updated = Item::filter(|p| p.rank.eq(1))
        .update(|p| p.score.set(f64::NAN), &db.pool)
        .await;
    match (DB::DIALECT, updated) {
        (Dialect::Postgres, Ok(1)) => {}
        (
            Dialect::Sqlite | Dialect::MySql,
            Err(Error::Value {
                column: "score", ..
            }),
        ) => {
            let first = Item::get(&db.pool, keys[0]).await.unwrap();
            assert_eq!(first.score, Some(2.5), "nothing written");
        }
        (dialect, other) => panic!("{dialect:?}: {other:?}"),
    }
}

async fn update_without_listeners_sets_the_matched_rows<DB: TestBackend>(db: &TestDb<DB>) {
    let keys = items(db).await;
    let updated = Item::filter(|p| p.rank.ge(4).or(p.score.is_null()))
        .update(|p| [p.flag.set(true), p.note.set("sale")], &db.pool)
        .await
        .unwrap();
    assert_eq!(updated, 3);
    let flagged = Item::filter(|p| p.flag.eq(true))
        .all(&db.pool)
        .await
        .unwrap();
    assert_eq!(ranks(&flagged), [2, 4, 5]);
    assert!(flagged.iter().all(|i| i.note.as_deref() == Some("sale")));
    assert_eq!(
        Item::get(&db.pool, keys[0]).await.unwrap().note.as_deref(),
        Some("red")
    );
    let cleared = Item::query()
        .update(|p| p.note.set(None), &db.pool)
        .await
        .unwrap();
    assert_eq!(cleared, 5);
    assert_eq!(
        Item::filter(|p| p.note.is_null())
            .count(&db.pool)
            .await
            .unwrap(),
        5
    );
    assert_eq!(
        Item::filter(|p| p.rank.gt(9))
            .update(|p| p.rank.set(0), &db.pool)
            .await
            .unwrap(),
        0
    );
}

async fn update_and_delete_of_a_page_touch_only_that_page<DB: TestBackend>(db: &TestDb<DB>) {
    items(db).await;
    let updated = Item::query()
        .order_by(|p| p.rank.desc())
        .limit(2)
        .update(|p| p.flag.set(true), &db.pool)
        .await
        .unwrap();
    assert_eq!(updated, 2);
    let flagged = Item::filter(|p| p.flag.eq(true))
        .all(&db.pool)
        .await
        .unwrap();
    assert_eq!(ranks(&flagged), [4, 5]);
    let deleted = Item::query()
        .order_by(|p| p.score)
        .offset(1)
        .limit(2)
        .delete(&db.pool)
        .await
        .unwrap();
    assert_eq!(deleted, 2);
    assert_eq!(ranks(&Item::all(&db.pool).await.unwrap()), [1, 2, 5]);
}

async fn delete_without_listeners_deletes_the_matched_rows<DB: TestBackend>(db: &TestDb<DB>) {
    items(db).await;
    let deleted = Item::filter(|p| p.note.is_null().or(p.rank.eq(1)))
        .delete(&db.pool)
        .await
        .unwrap();
    assert_eq!(deleted, 3);
    assert_eq!(ranks(&Item::all(&db.pool).await.unwrap()), [2, 5]);
    assert_eq!(
        Item::filter(|p| p.rank.gt(9))
            .delete(&db.pool)
            .await
            .unwrap(),
        0
    );
    assert_eq!(Item::query().delete(&db.pool).await.unwrap(), 2);
    assert_eq!(db.count("items").await, 0);
}

async fn streaming_reads_in_key_order_within_filter_offset_and_limit<DB: TestBackend>(
    db: &TestDb<DB>,
) {
    items(db).await;
    let collect = |select: model_core::Select<Item>| async move {
        let mut stream = select.stream(&db.pool);
        let mut read = Vec::new();
        while let Some(item) = stream.next().await {
            read.push(i64::from(item.unwrap().rank));
        }
        read
    };
    assert_eq!(collect(Item::query()).await, [1, 2, 3, 4, 5]);
    assert_eq!(collect(Item::filter(|p| p.rank.ne(3))).await, [1, 2, 4, 5]);
    assert_eq!(
        collect(Item::query().order_by(|p| p.id.desc()).offset(1).limit(2)).await,
        [4, 3]
    );
    // As a `futures::Stream`, as users combine it.
    let stream = Item::filter(|p| p.rank.gt(1)).stream(&db.pool);
    let read: Vec<Item> = futures_util::TryStreamExt::try_collect(stream)
        .await
        .unwrap();
    assert_eq!(ranks(&read), [2, 3, 4, 5]);
    let mut by_name = Item::query().order_by(|p| p.name).stream(&db.pool);
    match by_name.next().await {
        Some(Err(Error::Unsupported { model: "Item", .. })) => {}
        other => panic!("expected Unsupported, got {other:?}"),
    }
    assert!(
        by_name.next().await.is_none(),
        "a stream ends after an error"
    );
}

/// Models alive per backend (by `Dialect as usize`), and the most at any time.
static LIVE: [AtomicI64; 3] = [AtomicI64::new(0), AtomicI64::new(0), AtomicI64::new(0)];
static MOST_LIVE: [AtomicI64; 3] = [AtomicI64::new(0), AtomicI64::new(0), AtomicI64::new(0)];

/// Counts the streamed models alive: set by the load listener, dropped with the model.
#[derive(Debug)]
struct Live(Dialect);

impl Live {
    fn new(dialect: Dialect) -> Self {
        let now = LIVE[dialect as usize].fetch_add(1, Ordering::SeqCst) + 1;
        MOST_LIVE[dialect as usize].fetch_max(now, Ordering::SeqCst);
        Live(dialect)
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        LIVE[self.0 as usize].fetch_sub(1, Ordering::SeqCst);
    }
}

#[derive(Debug, Model)]
#[model(table = "streamed")]
#[listens_for(load, track)]
struct Streamed {
    id: Option<i64>,
    n: i64,
    #[model(skip)]
    live: Option<Live>,
}

/// An async load listener: it uses the read's connection, which is free between chunks.
async fn track<DB: Backend>(row: &mut Streamed, conn: &mut Conn<DB>) -> Result<(), Error> {
    if row.n % 1000 == 0 {
        let one = conn
            .fetch_optional(sqlx::query("SELECT 1"))
            .await
            .map_err(|e| Error::from_sqlx("Streamed", e))?;
        assert!(one.is_some());
    }
    row.live = Some(Live::new(DB::DIALECT));
    Ok(())
}

async fn streaming_100k_rows_holds_one_chunk_at_a_time<DB: TestBackend>(db: &TestDb<DB>) {
    Streamed::create_table(&db.pool).await.unwrap();
    const ROWS: i64 = 100_000;
    let mut rows: Vec<Streamed> = (1..=ROWS)
        .map(|n| Streamed {
            id: None,
            n,
            live: None,
        })
        .collect();
    Streamed::insert_all(&mut rows, &db.pool).await.unwrap();
    drop(rows);
    let slot = DB::DIALECT as usize;
    MOST_LIVE[slot].store(0, Ordering::SeqCst);

    let mut stream = Streamed::filter(|s| s.n.gt(0)).stream(&db.pool);
    let (mut read, mut last) = (0, 0);
    while let Some(row) = stream.next().await {
        let row = row.unwrap();
        assert!(row.live.is_some(), "the load listener ran");
        assert!(row.n > last, "key order, no row twice");
        last = row.n;
        read += 1;
    }
    drop(stream);
    assert_eq!(read, ROWS);
    let most = MOST_LIVE[slot].load(Ordering::SeqCst);
    assert!(
        (1..=1000).contains(&most),
        "at most one chunk of models alive at a time, saw {most}"
    );
    assert_eq!(LIVE[slot].load(Ordering::SeqCst), 0);
}

// ---------------------------------------------------------------------------------------
// Set-based writes with listeners.

#[derive(Debug)]
struct Refused(&'static str);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "refused by {}", self.0)
    }
}
impl std::error::Error for Refused {}

#[derive(Debug, Clone, Default, Model)]
#[model(table = "posts")]
#[listens_for(before_update, refuse_veto, audit_before_update)]
#[listens_for(after_update, audit_after_update)]
#[listens_for(after_update_commit, updated)]
#[listens_for(before_delete, refuse_keep)]
#[listens_for(after_delete, audit_after_delete)]
#[listens_for(after_delete_commit, deleted)]
#[listens_for(load, mark_loaded)]
struct Post {
    id: Option<i64>,
    title: String,
    published: bool,
    edits: i32,
    #[model(skip)]
    loaded: bool,
}

/// What a listener saw, written on the write's own connection.
#[derive(Debug, Clone, PartialEq, Model)]
#[model(table = "audit")]
struct Audit {
    id: Option<i64>,
    post_id: i64,
    event: String,
    title: String,
    published: bool,
    edits: i32,
}

/// Titles the after-commit listeners saw, as `"event:title"`; each test's titles are its own.
static COMMITTED: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn committed(prefix: &str) -> Vec<String> {
    let mut seen: Vec<String> = COMMITTED
        .lock()
        .unwrap()
        .iter()
        .filter(|e| {
            e.split_once(':')
                .is_some_and(|(_, t)| t.starts_with(prefix))
        })
        .cloned()
        .collect();
    seen.sort();
    seen
}

async fn record<DB: Backend>(conn: &mut Conn<DB>, post: &Post, event: Event) -> Result<(), Error> {
    Audit {
        id: None,
        post_id: post.id.expect("a stored post"),
        event: event.to_string(),
        title: post.title.clone(),
        published: post.published,
        edits: post.edits,
    }
    .insert(conn)
    .await
}

fn refuse_veto(post: &mut Post) -> Result<(), Refused> {
    if post.title.contains("veto") {
        return Err(Refused("refuse_veto"));
    }
    Ok(())
}

/// Sees the new values, records them, and makes a change of its own (written too).
async fn audit_before_update<DB: Backend>(
    post: &mut Post,
    conn: &mut Conn<DB>,
) -> Result<(), Error> {
    assert!(post.loaded, "the rows were read as reads read them");
    // Long enough for a concurrent update of the same row to read it meanwhile, were the
    // row not locked when read.
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    record(conn, post, Event::BeforeUpdate).await?;
    post.edits += 1;
    Ok(())
}

async fn audit_after_update<DB: Backend>(post: &Post, conn: &mut Conn<DB>) -> Result<(), Error> {
    // A query inside a listener, on the write's connection: the row is updated already.
    let stored = Post::filter(|p| p.id.eq(post.id)).one(&mut *conn).await?;
    assert_eq!(stored.edits, post.edits);
    record(conn, post, Event::AfterUpdate).await
}

fn updated(post: &Post) {
    COMMITTED
        .lock()
        .unwrap()
        .push(format!("update:{}", post.title));
}

fn refuse_keep(post: &Post) -> Result<(), Refused> {
    if post.title.contains("keep") {
        return Err(Refused("refuse_keep"));
    }
    Ok(())
}

async fn audit_after_delete<DB: Backend>(post: &Post, conn: &mut Conn<DB>) -> Result<(), Error> {
    record(conn, post, Event::AfterDelete).await
}

fn deleted(post: &Post) {
    COMMITTED
        .lock()
        .unwrap()
        .push(format!("delete:{}", post.title));
}

fn mark_loaded(post: &mut Post) {
    post.loaded = true;
}

/// Posts titled `"<prefix> 1"` to `"<prefix> 5"` (the third one `"<prefix> 3 <third>"`),
/// inserted in that order; the prefix names the test and backend. Returns the prefix and
/// the posts' keys, post `n`'s at `keys[n - 1]`: they grow in insertion order, but are not
/// 1 to 5 on a Galera cluster (see [`items`]), so the tests name posts by number ([`number`]).
async fn posts<DB: TestBackend>(db: &TestDb<DB>, test: &str, third: &str) -> (String, Vec<i64>) {
    Schema::new()
        .model::<Post>()
        .model::<Audit>()
        .create_all(&db.pool)
        .await
        .unwrap();
    let prefix = format!("{test}-{:?}", DB::DIALECT);
    let mut rows: Vec<Post> = (1..=5)
        .map(|n| Post {
            title: match n {
                3 => format!("{prefix} {n} {third}").trim_end().to_owned(),
                _ => format!("{prefix} {n}"),
            },
            ..Post::default()
        })
        .collect();
    Post::insert_all(&mut rows, &db.pool).await.unwrap();
    let keys: Vec<i64> = rows.iter().map(|p| p.id.unwrap()).collect();
    assert!(
        keys.windows(2).all(|pair| pair[0] < pair[1]),
        "keys grow in insertion order: {keys:?}"
    );
    (prefix, keys)
}

/// The number (1 to 5) of the post whose key is `key`, of the posts whose keys are `keys`.
fn number(keys: &[i64], key: i64) -> i64 {
    let at = keys.iter().position(|&k| k == key);
    at.map_or_else(|| panic!("{key} is none of {keys:?}"), |i| i as i64 + 1)
}

/// The audit rows, each with its post's number (`keys` as [`posts`] returned them).
async fn audit_of<DB: TestBackend>(db: &TestDb<DB>, keys: &[i64]) -> Vec<(i64, String, bool, i32)> {
    Audit::query()
        .all(&db.pool)
        .await
        .unwrap()
        .into_iter()
        .map(|a| (number(keys, a.post_id), a.event, a.published, a.edits))
        .collect()
}

async fn update_runs_each_rows_listeners_with_its_data<DB: TestBackend>(db: &TestDb<DB>) {
    let (prefix, keys) = posts(db, "update", "").await;
    let updated = Post::filter(|p| p.id.in_([1, 2, 4].map(|n| keys[n - 1])))
        .update(|p| p.published.set(true), &db.pool)
        .await
        .unwrap();
    assert_eq!(updated, 3);
    // before_update saw the new value; its own change (edits + 1) was written, so
    // after_update saw it too; rows in key order, each with its own data.
    let (before, after) = ("before_update".to_owned(), "after_update".to_owned());
    let mut audited = audit_of(db, &keys).await;
    audited.sort();
    assert_eq!(
        audited,
        [
            (1, after.clone(), true, 1),
            (1, before.clone(), true, 0),
            (2, after.clone(), true, 1),
            (2, before.clone(), true, 0),
            (4, after, true, 1),
            (4, before, true, 0),
        ]
    );
    let titles: Vec<String> = Audit::filter(|a| a.event.eq("after_update"))
        .all(&db.pool)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.title)
        .collect();
    assert_eq!(
        titles,
        [1, 2, 4].map(|n| format!("{prefix} {n}")),
        "each row's listeners saw that row"
    );
    let stored = Post::query().all(&db.pool).await.unwrap();
    let state: Vec<(bool, i32)> = stored.iter().map(|p| (p.published, p.edits)).collect();
    assert_eq!(
        state,
        [(true, 1), (true, 1), (false, 0), (true, 1), (false, 0)]
    );
    assert_eq!(
        committed(&prefix),
        [1, 2, 4].map(|n| format!("update:{prefix} {n}")),
        "one after_update_commit per row, after the commit"
    );
}

async fn a_veto_on_the_third_of_five_rows_updates_none<DB: TestBackend>(db: &TestDb<DB>) {
    let (prefix, keys) = posts(db, "veto-update", "veto").await;
    let error = Post::query()
        .update(|p| [p.published.set(true), p.edits.set(7)], &db.pool)
        .await
        .unwrap_err();
    match &error {
        Error::Listener {
            model: "Post",
            event: Event::BeforeUpdate,
            listener: "refuse_veto",
            ..
        } => {}
        other => panic!("expected the veto, got {other:?}"),
    }
    assert!(error.listener_error::<Refused>().is_some());
    let stored = Post::query().all(&db.pool).await.unwrap();
    assert!(
        stored.iter().all(|p| !p.published && p.edits == 0),
        "{stored:?}"
    );
    assert!(
        audit_of(db, &keys).await.is_empty(),
        "rows 1 and 2's listener SQL rolled back with the set"
    );
    assert!(
        committed(&prefix).is_empty(),
        "no commit listener of a rolled-back set"
    );
}

async fn delete_runs_each_rows_listeners_and_a_veto_deletes_none<DB: TestBackend>(db: &TestDb<DB>) {
    let (prefix, keys) = posts(db, "delete", "keep").await;
    let error = Post::query().delete(&db.pool).await.unwrap_err();
    match &error {
        Error::Listener {
            event: Event::BeforeDelete,
            listener: "refuse_keep",
            ..
        } => {}
        other => panic!("expected the veto, got {other:?}"),
    }
    assert_eq!(
        db.count("posts").await,
        5,
        "a veto on the third row deletes none"
    );
    assert!(audit_of(db, &keys).await.is_empty());
    assert!(committed(&prefix).is_empty());

    let deleted = Post::filter(|p| !p.title.like("%keep"))
        .delete(&db.pool)
        .await
        .unwrap();
    assert_eq!(deleted, 4);
    let mut audited: Vec<(i64, String)> = audit_of(db, &keys)
        .await
        .into_iter()
        .map(|(id, event, ..)| (id, event))
        .collect();
    audited.sort();
    assert_eq!(
        audited,
        [1, 2, 4, 5].map(|id| (id, "after_delete".to_owned()))
    );
    assert_eq!(numbers_of_posts(db, &keys).await, [3]);
    assert_eq!(
        committed(&prefix),
        [1, 2, 4, 5].map(|n| format!("delete:{prefix} {n}"))
    );
}

async fn concurrent_set_updates_lose_no_listeners_change<DB: TestBackend>(db: &TestDb<DB>) {
    let (_, keys) = posts(db, "concurrent", "").await;
    let first = keys[0];
    let update = || Post::filter(|p| p.id.eq(first)).update(|p| p.published.set(true), &db.pool);
    let (a, b) = tokio::join!(update(), update());
    assert_eq!((a.unwrap(), b.unwrap()), (1, 1));
    // Each update's before_update added one edit to the row as it found it: the second
    // read waited for the first write (`FOR UPDATE`, or SQLite's write lock).
    assert_eq!(Post::get(&db.pool, first).await.unwrap().edits, 2);
}

/// The numbers of the stored posts, in key order (`keys` as [`posts`] returned them).
async fn numbers_of_posts<DB: TestBackend>(db: &TestDb<DB>, keys: &[i64]) -> Vec<i64> {
    Post::all(&db.pool)
        .await
        .unwrap()
        .iter()
        .map(|p| number(keys, p.id.unwrap()))
        .collect()
}

async fn a_set_write_in_a_transaction_commits_and_rolls_back_with_it<DB: TestBackend>(
    db: &TestDb<DB>,
) {
    let (prefix, keys) = posts(db, "in-transaction", "").await;
    let (second, fifth) = (keys[1], keys[4]);
    // Rolled back by the caller: the updates, their listeners' SQL, and their commit
    // listeners all go.
    let result: Result<(), Error> = transaction(&db.pool, |conn| {
        Box::pin(async move {
            let n = Post::filter(|p| p.id.le(second))
                .update(|p| p.published.set(true), &mut *conn)
                .await?;
            assert_eq!(n, 2);
            Post::filter(|p| p.id.eq(fifth)).delete(&mut *conn).await?;
            Err(Error::NoRows { model: "caller" })
        })
    })
    .await;
    assert!(matches!(result, Err(Error::NoRows { model: "caller" })));
    assert_eq!(db.count("posts").await, 5);
    assert!(audit_of(db, &keys).await.is_empty());
    assert!(Post::filter(|p| p.published.eq(true))
        .all(&db.pool)
        .await
        .unwrap()
        .is_empty());
    assert!(committed(&prefix).is_empty());

    // Committed: the commit listeners run once, after the outer commit.
    let inside = prefix.clone();
    transaction(&db.pool, move |conn| {
        Box::pin(async move {
            Post::filter(|p| p.id.le(second))
                .update(|p| p.published.set(true), &mut *conn)
                .await?;
            assert!(committed(&inside).is_empty(), "not before the commit");
            Ok::<(), Error>(())
        })
    })
    .await
    .unwrap();
    assert_eq!(
        committed(&prefix),
        [1, 2].map(|n| format!("update:{prefix} {n}"))
    );

    // A raw sqlx transaction hides its commit: a model with commit listeners is refused.
    let mut tx = db.pool.begin().await.unwrap();
    let refused = Post::query()
        .update(|p| p.edits.set(9), &mut tx)
        .await
        .unwrap_err();
    assert!(
        matches!(refused, Error::CommitScope { model: "Post" }),
        "{refused:?}"
    );
    tx.rollback().await.unwrap();
}

/// A model with only a `load` listener, which writes what it loaded: a set-based write
/// without write listeners reads no model, so it runs none.
#[derive(Debug, Model)]
#[model(table = "counters")]
#[listens_for(load, audit_load)]
struct Counter {
    id: Option<i64>,
    n: i64,
}

async fn audit_load<DB: Backend>(counter: &mut Counter, conn: &mut Conn<DB>) -> Result<(), Error> {
    Audit {
        id: None,
        post_id: counter.id.unwrap(),
        event: "load".into(),
        title: String::new(),
        published: false,
        edits: 0,
    }
    .insert(conn)
    .await
}

async fn a_model_without_write_listeners_is_written_by_one_statement<DB: TestBackend>(
    db: &TestDb<DB>,
) {
    posts(db, "counters", "").await;
    Counter::create_table(&db.pool).await.unwrap();
    let mut rows: Vec<Counter> = (1..=4).map(|n| Counter { id: None, n }).collect();
    Counter::insert_all(&mut rows, &db.pool).await.unwrap();

    let n = Counter::filter(|c| c.n.gt(1))
        .update(|c| c.n.set(0), &db.pool)
        .await
        .unwrap();
    assert_eq!(n, 3);
    assert_eq!(db.count("audit").await, 0, "nothing was loaded: one UPDATE");
    assert_eq!(
        Counter::filter(|c| c.n.eq(1))
            .delete(&db.pool)
            .await
            .unwrap(),
        1
    );
    assert_eq!(db.count("audit").await, 0, "nothing was loaded: one DELETE");

    // A page needs its rows read to know which they are: the rows are loaded.
    let n = Counter::query()
        .limit(1)
        .update(|c| c.n.set(5), &db.pool)
        .await
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(db.count("audit").await, 1);
}

/// The same, counted by the server (MySQL only: the other servers keep no per-session count
/// of statements): a set-based `update` or `delete` of a model without write listeners is
/// one statement, with no `BEGIN` around it and no `SAVEPOINT` in a caller's transaction
/// (MySQL undoes a failed statement and nothing else; PostgreSQL needs the savepoint).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_a_set_write_without_listeners_is_one_statement() {
    let Some(db) = <sqlx::MySql as TestBackend>::fresh(concat!(
        module_path!(),
        "::mysql_a_set_write_without_listeners_is_one_statement"
    ))
    .await
    else {
        return;
    };
    Counter::create_table(&db.pool).await.unwrap();
    let mut rows: Vec<Counter> = (1..=4).map(|n| Counter { id: None, n }).collect();
    Counter::insert_all(&mut rows, &db.pool).await.unwrap();
    let mut conn = db.pool.acquire().await.unwrap();
    let counters = MysqlCounters::read(
        &mut conn,
        &[
            "Com_begin",
            "Com_savepoint",
            "Com_update",
            "Com_delete",
            "Com_select",
        ],
    )
    .await;
    let n = Counter::filter(|c| c.n.gt(1))
        .update(|c| c.n.set(0), &mut *conn)
        .await
        .unwrap();
    assert_eq!(n, 3);
    let mut tx = sqlx::Connection::begin(&mut *conn).await.unwrap();
    let n = Counter::filter(|c| c.n.eq(1))
        .delete(&mut *tx)
        .await
        .unwrap();
    assert_eq!(n, 1);
    tx.commit().await.unwrap();
    // The `BEGIN` is the caller's; no `SELECT`: the rows were not read first.
    assert_eq!(
        counters.since(&mut conn).await,
        [
            ("Com_begin", 1),
            ("Com_savepoint", 0),
            ("Com_update", 1),
            ("Com_delete", 1),
            ("Com_select", 0)
        ]
    );
}

/// A model with optimistic locking and no listeners.
#[derive(Debug, Clone, Model)]
#[model(table = "stock")]
struct Stock {
    id: Option<i64>,
    count: i64,
    #[model(version)]
    version: i32,
}

async fn a_set_update_bumps_the_version_so_stale_copies_conflict<DB: TestBackend>(db: &TestDb<DB>) {
    Stock::create_table(&db.pool).await.unwrap();
    let mut rows = vec![
        Stock {
            id: None,
            count: 1,
            version: 1,
        },
        Stock {
            id: None,
            count: 2,
            version: 1,
        },
    ];
    Stock::insert_all(&mut rows, &db.pool).await.unwrap();
    let first = rows[0].id.unwrap();
    let mut stale = Stock::get(&db.pool, first).await.unwrap();
    let updated = Stock::query()
        .update(|s| s.count.set(0), &db.pool)
        .await
        .unwrap();
    assert_eq!(updated, 2);
    let stored = Stock::get(&db.pool, first).await.unwrap();
    assert_eq!((stored.count, stored.version), (0, 2));
    stale.count = 5;
    let error = stale.update(&db.pool).await.unwrap_err();
    assert!(matches!(error, Error::Conflict { .. }), "{error:?}");
    assert_eq!(Stock::get(&db.pool, first).await.unwrap().count, 0);
}

async fn raw_sql_reads_decode_by_column_name_and_run_load_listeners<DB: TestBackend>(
    db: &TestDb<DB>,
) {
    let (_, keys) = posts(db, "raw", "").await;
    let q = |name: &str| db.quote(name);
    // Columns out of order, an extra one, a join: each model column is found by name.
    let sql = format!(
        "SELECT 'x' AS {extra}, p.{edits}, p.{title}, p.{published}, p.{id} \
         FROM {posts} p WHERE p.{id} > {ph} ORDER BY p.{id}",
        extra = q("extra"),
        edits = q("edits"),
        title = q("title"),
        published = q("published"),
        id = q("id"),
        posts = q("posts"),
        ph = DB::DIALECT.placeholder(1),
    );
    let query = DB::bind(sqlx::query(sqlx::AssertSqlSafe(sql.clone())), &keys[2]);
    let rows = Post::from_sql(query).all(&db.pool).await.unwrap();
    let numbers: Vec<i64> = rows.iter().map(|p| number(&keys, p.id.unwrap())).collect();
    assert_eq!(numbers, [4, 5]);
    assert!(rows.iter().all(|p| p.loaded
        && p.title
            .ends_with(&format!(" {}", number(&keys, p.id.unwrap())))));

    let query = DB::bind(sqlx::query(sqlx::AssertSqlSafe(sql.clone())), &keys[3]);
    let first = Post::from_sql(query)
        .first(&db.pool)
        .await
        .unwrap()
        .unwrap();
    assert!(first.loaded);
    assert_eq!(first.id, Some(keys[4]));
    let query = DB::bind(sqlx::query(sqlx::AssertSqlSafe(sql)), &keys[4]);
    assert!(Post::from_sql(query)
        .first(&db.pool)
        .await
        .unwrap()
        .is_none());

    let missing = format!("SELECT {} FROM {}", q("id"), q("posts"));
    let error = Post::from_sql(sqlx::query(sqlx::AssertSqlSafe(missing)))
        .all(&db.pool)
        .await
        .unwrap_err();
    match &error {
        Error::Database {
            source: sqlx::Error::ColumnNotFound(column),
            ..
        } => assert_eq!(column, "title"),
        other => panic!("expected a missing column, got {other:?}"),
    }
}

async fn from_row_decodes_by_column_name_and_runs_no_listener<DB: TestBackend>(db: &TestDb<DB>) {
    let (_, keys) = posts(db, "from-row", "").await;
    let sql = format!(
        "SELECT {}, {}, {}, {} FROM {} ORDER BY {}",
        db.quote("title"),
        db.quote("edits"),
        db.quote("id"),
        db.quote("published"),
        db.quote("posts"),
        db.quote("id")
    );
    let mut conn = db.pool.acquire().await.unwrap();
    let rows = Conn::<DB>::from_mut(&mut conn)
        .fetch_all(sqlx::query(sqlx::AssertSqlSafe(sql)))
        .await
        .unwrap();
    // What `sqlx::query_as::<_, Post>` calls for each row.
    let posts: Vec<Post> = rows
        .iter()
        .map(|row| <Post as sqlx::FromRow<'_, DB::Row>>::from_row(row).unwrap())
        .collect();
    assert_eq!(posts.len(), 5);
    assert_eq!(posts[2].id, Some(keys[2]));
    assert!(posts[2].title.ends_with(" 3"));
    assert!(
        posts.iter().all(|p| !p.loaded),
        "FromRow runs no load listener"
    );
}

per_backend!(
    every_comparison_selects_the_rows_it_says,
    a_failed_read_names_its_model,
    to_sql_is_the_statement_all_sends,
    an_empty_in_list_matches_no_row,
    like_matches_text_with_wildcards_and_escapes,
    null_is_matched_by_is_null_and_by_eq_none,
    order_by_then_key_with_nulls_first_ascending,
    limit_and_offset_page_through_the_order,
    count_exists_first_and_one_answer_for_the_selection,
    filter_values_are_refused_where_the_backend_would_change_them,
    update_without_listeners_sets_the_matched_rows,
    update_and_delete_of_a_page_touch_only_that_page,
    delete_without_listeners_deletes_the_matched_rows,
    streaming_reads_in_key_order_within_filter_offset_and_limit,
    streaming_100k_rows_holds_one_chunk_at_a_time,
    update_runs_each_rows_listeners_with_its_data,
    a_veto_on_the_third_of_five_rows_updates_none,
    delete_runs_each_rows_listeners_and_a_veto_deletes_none,
    a_set_write_in_a_transaction_commits_and_rolls_back_with_it,
    a_model_without_write_listeners_is_written_by_one_statement,
    a_set_update_bumps_the_version_so_stale_copies_conflict,
    raw_sql_reads_decode_by_column_name_and_run_load_listeners,
    from_row_decodes_by_column_name_and_runs_no_listener;
    file: concurrent_set_updates_lose_no_listeners_change,
);
