//! The README's "Guarantees", one test each, on every backend where the guarantee applies.
//! Each test's doc comment names the guarantee and the line of model-core that keeps it: a
//! test here fails when that line breaks.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use model_core::schema::Schema;
use model_core::{transaction, Backend, Conn, ConstraintKind, Dialect, Error, Event, Model};
use model_tests::{per_backend, Col, TestBackend, TestDb};
use sqlx::pool::PoolOptions;
use sqlx::{Connection as _, Pool};

type Trace = Arc<Mutex<Vec<String>>>;

fn entries(trace: &Trace) -> Vec<String> {
    trace.lock().unwrap().clone()
}

/// What the listeners here refuse a write with.
#[derive(Debug, PartialEq)]
struct Refused;

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("refused")
    }
}
impl std::error::Error for Refused {}

/// A statement of the test's own, for any backend.
fn raw<DB: Backend>(sql: String) -> model_core::Query<'static, DB> {
    sqlx::query(sqlx::AssertSqlSafe(sql))
}

/// `error` is a unique-constraint violation of `model`.
fn expect_unique(error: &Error, model: &str) {
    assert!(
        matches!(
            error,
            Error::Constraint {
                model: m,
                kind: ConstraintKind::Unique,
                ..
            } if *m == model
        ),
        "{error:?}"
    );
}

fn expect_listener(error: &Error, model: &str, event: Event, listener: &str) {
    match error {
        Error::Listener {
            model: m,
            event: e,
            listener: l,
            source,
        } => {
            assert_eq!((*m, *e, *l), (model, event, listener), "{error:?}");
            assert!(source.downcast_ref::<Refused>().is_some(), "{error:?}");
        }
        other => panic!("expected {event} listener `{listener}` to refuse, got {other:?}"),
    }
}

/// A pool of exactly one connection on the test's database (a file on SQLite).
async fn one_connection<DB: TestBackend>(db: &TestDb<DB>) -> Pool<DB> {
    PoolOptions::<DB>::new()
        .max_connections(1)
        .connect_with((*db.pool.connect_options()).clone())
        .await
        .expect("a second pool on the test's database")
}

// ---------------------------------------------------------------------------------------
// 1. Vetoes, failures and panics have rolled back when the call returns.

#[derive(Debug, Clone, Copy, Default, PartialEq)]
enum Fail {
    #[default]
    No,
    Before,
    After,
    Panic,
}

#[derive(Debug, Clone, Default, Model)]
#[model(table = "guarded")]
#[allow(clippy::duplicated_attributes)]
#[listens_for(before_insert, write_side, veto_before)]
#[listens_for(after_insert, veto_after)]
#[listens_for(before_update, write_side)]
#[listens_for(after_update, veto_after)]
struct Guarded {
    id: Option<i64>,
    name: String,
    #[model(skip)]
    fail: Fail,
}

/// A row the async listener writes through the write's connection: once it has run, the
/// write's transaction is open and holds locks on `side`.
#[derive(Debug, Model)]
#[model(table = "side")]
struct Side {
    id: Option<i64>,
    name: String,
}

async fn write_side<DB: Backend>(row: &mut Guarded, conn: &mut Conn<DB>) -> Result<(), Error> {
    Side {
        id: None,
        name: row.name.clone(),
    }
    .insert(conn)
    .await
}

fn veto_before(row: &mut Guarded) -> Result<(), Refused> {
    match row.fail {
        Fail::Before => Err(Refused),
        _ => Ok(()),
    }
}

fn veto_after(row: &Guarded) -> Result<(), Refused> {
    match row.fail {
        Fail::After => Err(Refused),
        Fail::Panic => panic!("listener panicked on purpose"),
        _ => Ok(()),
    }
}

fn guarded(name: &str, fail: Fail) -> Guarded {
    Guarded {
        id: None,
        name: name.into(),
        fail,
    }
}

/// Tries, from another connection and without waiting, to take the locks that a write on
/// `guarded` and `side` holds for as long as its transaction is open: PostgreSQL `LOCK TABLE
/// ... NOWAIT`; MySQL `SELECT ... FOR UPDATE` with a 1 s lock wait; SQLite `BEGIN IMMEDIATE`
/// with no busy timeout. `Err` is what blocked it.
async fn take_locks<DB: Backend>(locker: &Pool<DB>) -> Result<(), String> {
    let mut conn = locker.acquire().await.expect("the locker's connection");
    let conn = Conn::<DB>::from_mut(&mut conn);
    let q = |name: &str| DB::DIALECT.quote(name);
    match DB::DIALECT {
        Dialect::Postgres => {
            run(conn, "SET lock_timeout = '200ms'".into()).await?;
            run(conn, "BEGIN".into()).await?;
            let locked = run(
                conn,
                format!(
                    "LOCK TABLE {}, {} IN ACCESS EXCLUSIVE MODE NOWAIT",
                    q("guarded"),
                    q("side")
                ),
            )
            .await;
            run(conn, "ROLLBACK".into()).await?;
            locked
        }
        Dialect::MySql => {
            run(conn, "SET SESSION innodb_lock_wait_timeout = 1".into()).await?;
            for table in ["guarded", "side"] {
                run(conn, format!("SELECT * FROM {} FOR UPDATE", q(table))).await?;
            }
            Ok(())
        }
        Dialect::Sqlite => {
            run(conn, "PRAGMA busy_timeout = 0".into()).await?;
            run(conn, "BEGIN IMMEDIATE".into()).await?;
            run(conn, "ROLLBACK".into()).await
        }
    }
}

async fn run<DB: Backend>(conn: &mut Conn<DB>, sql: String) -> Result<(), String> {
    match conn.execute(raw(sql.clone())).await {
        Ok(_) => Ok(()),
        Err(e) => Err(format!("{sql}: {e}")),
    }
}

async fn assert_released<DB: TestBackend>(db: &TestDb<DB>, locker: &Pool<DB>, what: &str) {
    if let Err(blocked) = take_locks(locker).await {
        panic!("{what}: the write returned with its transaction still open: {blocked}");
    }
    assert_eq!(db.count("guarded").await, 1, "{what}: only the first row");
    assert_eq!(
        db.count("side").await,
        1,
        "{what}: only the first row's side row"
    );
}

/// Guarantee "Vetoes and failures write nothing ... rolled back before the call returns" and
/// "Panics ... roll back": right after a write returns its error (a veto before or after
/// the statement, a failed statement) or its panic, on a connection that is held and not
/// used again, a second connection takes the write's locks at once.
///
/// Guards `ops::finish`'s `session.rollback().await` in its error and panic arms (and
/// `Session::rollback`'s `tx.rollback().await`). Without them the `Transaction` is only
/// dropped: on PostgreSQL and MySQL sqlx then queues the `ROLLBACK` and sends it with the
/// connection's next command, which never comes here, so the locks stay and the second
/// connection's lock fails (the calibration below shows exactly that). On SQLite sqlx hands
/// a dropped transaction's rollback to the connection's worker thread at once, so there
/// the test catches a transaction left open (a leaked `Transaction`, a commit skipped), not a
/// merely missing explicit rollback.
async fn failed_write_has_rolled_back_when_it_returns<DB: TestBackend>(db: &TestDb<DB>) {
    Schema::new()
        .model::<Guarded>()
        .model::<Side>()
        .create_all(&db.pool)
        .await
        .unwrap();
    let writer = one_connection(db).await;
    let locker = one_connection(db).await;
    // The writes' one connection, held for the whole test: nothing but an explicit ROLLBACK
    // releases a lock it takes (a connection returned to the pool would be pinged, which
    // flushes a queued rollback).
    let held = Arc::new(tokio::sync::Mutex::new(writer.acquire().await.unwrap()));

    // Calibration: the probe sees a transaction that is open on the held connection.
    {
        let mut conn = held.lock().await;
        let mut tx = conn.begin().await.unwrap();
        Side {
            id: None,
            name: "calibration".into(),
        }
        .insert(&mut tx)
        .await
        .unwrap();
        if DB::DIALECT == Dialect::Sqlite {
            assert!(
                take_locks(&locker).await.is_err(),
                "an open transaction is seen"
            );
            tx.rollback().await.unwrap();
        } else {
            // What a write without its explicit rollback would leave: a dropped transaction
            // whose ROLLBACK waits for the connection's next command.
            drop(tx);
            assert!(
                take_locks(&locker).await.is_err(),
                "a dropped, not rolled back, transaction is seen"
            );
            conn.ping().await.unwrap();
        }
        assert!(take_locks(&locker).await.is_ok());
    }

    let mut existing = guarded("existing", Fail::No);
    existing
        .insert(Conn::<DB>::from_mut(&mut **held.lock().await))
        .await
        .unwrap();

    {
        let mut conn = held.lock().await;
        let conn = Conn::<DB>::from_mut(&mut **conn);

        let mut row = guarded("vetoed before the insert", Fail::Before);
        let error = row.insert(&mut *conn).await.unwrap_err();
        expect_listener(&error, "Guarded", Event::BeforeInsert, "veto_before");
        assert_released(db, &locker, "insert vetoed by before_insert").await;

        let mut row = guarded("vetoed after the insert", Fail::After);
        let error = row.insert(&mut *conn).await.unwrap_err();
        expect_listener(&error, "Guarded", Event::AfterInsert, "veto_after");
        assert_eq!(row.id, None);
        assert_released(db, &locker, "insert vetoed by after_insert").await;

        let mut row = Guarded {
            id: existing.id,
            ..guarded("duplicate key", Fail::No)
        };
        let error = row.insert(&mut *conn).await.unwrap_err();
        expect_unique(&error, "Guarded");
        // Only a key the database generated is cleared after a failed insert: this one is
        // the caller's, and still names the row they meant.
        assert_eq!(
            row.id, existing.id,
            "a key the caller set survives a failed insert"
        );
        assert_released(db, &locker, "insert whose statement failed").await;

        let mut row = Guarded {
            name: "vetoed update".into(),
            fail: Fail::After,
            ..existing.clone()
        };
        let error = row.update(&mut *conn).await.unwrap_err();
        expect_listener(&error, "Guarded", Event::AfterUpdate, "veto_after");
        assert_released(db, &locker, "update vetoed by after_update").await;
    }

    for update in [false, true] {
        let task_conn = held.clone();
        let mut row = if update {
            Guarded {
                name: "panicking update".into(),
                fail: Fail::Panic,
                ..existing.clone()
            }
        } else {
            guarded("panicking insert", Fail::Panic)
        };
        let outcome = tokio::spawn(async move {
            let mut conn = task_conn.lock().await;
            let conn = Conn::<DB>::from_mut(&mut **conn);
            if update {
                row.update(conn).await
            } else {
                row.insert(conn).await
            }
        })
        .await;
        assert!(outcome
            .expect_err("the panic reaches the caller")
            .is_panic());
        assert_released(db, &locker, &format!("panic in after_* (update: {update})")).await;
    }

    let stored = Guarded::get(&db.pool, existing.id.unwrap()).await.unwrap();
    assert_eq!(stored.name, "existing");
    existing.name = "still writable".into();
    existing
        .update(Conn::<DB>::from_mut(&mut **held.lock().await))
        .await
        .unwrap();
    drop(held);
    writer.close().await;
    locker.close().await;
}

// ---------------------------------------------------------------------------------------
// 2. after_update and after_delete run after their statement.

#[derive(Debug, Clone, Default, Model)]
#[model(table = "watched")]
#[listens_for(before_update, read_before_update)]
#[listens_for(after_update, read_after_update)]
#[listens_for(before_delete, read_before_delete)]
#[listens_for(after_delete, read_after_delete)]
struct Watched {
    id: Option<i64>,
    name: String,
    #[model(skip)]
    seen: Trace,
}

/// Reads the row's stored name through the write's connection and records it.
async fn read_back<DB: Backend>(
    row: &Watched,
    conn: &mut Conn<DB>,
    event: &str,
) -> Result<(), sqlx::Error> {
    let q = |name: &str| DB::DIALECT.quote(name);
    let sql = format!(
        "SELECT {} FROM {} WHERE {} = {}",
        q("name"),
        q("watched"),
        q("id"),
        DB::DIALECT.placeholder(1)
    );
    let found = conn
        .fetch_optional(DB::bind(raw(sql), &row.id.expect("a stored row")))
        .await?;
    let name = found.map(|r| DB::get::<String>(&r, 0)).transpose()?;
    row.seen.lock().unwrap().push(format!("{event}: {name:?}"));
    Ok(())
}

async fn read_before_update<DB: Backend>(
    row: &mut Watched,
    conn: &mut Conn<DB>,
) -> Result<(), sqlx::Error> {
    read_back(row, conn, "before_update").await
}

async fn read_after_update<DB: Backend>(
    row: &Watched,
    conn: &mut Conn<DB>,
) -> Result<(), sqlx::Error> {
    read_back(row, conn, "after_update").await
}

async fn read_before_delete<DB: Backend>(
    row: &Watched,
    conn: &mut Conn<DB>,
) -> Result<(), sqlx::Error> {
    read_back(row, conn, "before_delete").await
}

async fn read_after_delete<DB: Backend>(
    row: &Watched,
    conn: &mut Conn<DB>,
) -> Result<(), sqlx::Error> {
    read_back(row, conn, "after_delete").await
}

/// Guarantee (events table) "`after_update` / `after_delete`: after the statement, same
/// transaction": an async after_update listener reading the row through its `Conn` sees the
/// new values, an after_delete listener sees the row gone (and the before_* listeners, for
/// contrast, the old state).
///
/// Guards the order in `row::update` and `row::delete`: the `DB::execute(session.conn(),
/// query)` of the statement before `run_ref(row, Event::AfterUpdate | AfterDelete, ..)`.
/// Run before the statement, the after_* listeners would read `Some("old")` and
/// `Some("new")`.
async fn after_update_and_after_delete_see_their_statement<DB: TestBackend>(db: &TestDb<DB>) {
    Watched::create_table(&db.pool).await.unwrap();
    let seen = Trace::default();
    let mut row = Watched {
        id: None,
        name: "old".into(),
        seen: seen.clone(),
    };
    row.insert(&db.pool).await.unwrap();
    row.name = "new".into();
    row.update(&db.pool).await.unwrap();
    row.delete(&db.pool).await.unwrap();
    assert_eq!(
        entries(&seen),
        [
            r#"before_update: Some("old")"#,
            r#"after_update: Some("new")"#,
            r#"before_delete: Some("new")"#,
            "after_delete: None",
        ]
    );
    assert_eq!(db.count("watched").await, 0);
}

// ---------------------------------------------------------------------------------------
// 3. Values a backend would store as something else are refused, on update as on insert.

#[derive(Debug, Clone, Copy)]
enum Bad {
    Single(f32),
    Double(f64),
    At(DateTime<Utc>),
    Naive(NaiveDateTime),
    Day(NaiveDate),
}

impl Bad {
    fn all() -> Vec<Bad> {
        let mut all = vec![
            Bad::Single(f32::NAN),
            Bad::Double(f64::NAN),
            Bad::Single(f32::INFINITY),
            Bad::Single(f32::NEG_INFINITY),
            Bad::Double(f64::INFINITY),
            Bad::Double(f64::NEG_INFINITY),
        ];
        for year in [10_000, 0, -1] {
            let day = NaiveDate::from_ymd_opt(year, 6, 15).unwrap();
            let naive = day.and_hms_opt(12, 30, 0).unwrap();
            all.extend([
                Bad::At(Utc.from_utc_datetime(&naive)),
                Bad::Naive(naive),
                Bad::Day(day),
            ]);
        }
        all
    }

    fn column(self) -> &'static str {
        match self {
            Bad::Single(_) => "single",
            Bad::Double(_) => "double",
            Bad::At(_) => "at",
            Bad::Naive(_) => "naive",
            Bad::Day(_) => "day",
        }
    }

    /// Whether model-core must refuse it on `dialect`, per the README: NaN on SQLite, NaN
    /// and infinities on MySQL, years outside 1 to 9999 on MySQL.
    fn refused_on(self, dialect: Dialect) -> bool {
        let float = |nan: bool| match dialect {
            Dialect::Sqlite => nan,
            Dialect::MySql => true,
            Dialect::Postgres => false,
        };
        match self {
            Bad::Single(v) => float(v.is_nan()),
            Bad::Double(v) => float(v.is_nan()),
            Bad::At(_) | Bad::Naive(_) | Bad::Day(_) => dialect == Dialect::MySql,
        }
    }

    fn apply(self, row: &mut Checked) {
        match self {
            Bad::Single(v) => row.single = v,
            Bad::Double(v) => row.double = v,
            Bad::At(v) => row.at = v,
            Bad::Naive(v) => row.naive = v,
            Bad::Day(v) => row.day = v,
        }
    }

    /// Whether `row` holds this value (NaN counts as equal to NaN).
    fn held_by(self, row: &Checked) -> bool {
        match self {
            Bad::Single(v) => row.single == v || (v.is_nan() && row.single.is_nan()),
            Bad::Double(v) => row.double == v || (v.is_nan() && row.double.is_nan()),
            Bad::At(v) => row.at == v,
            Bad::Naive(v) => row.naive == v,
            Bad::Day(v) => row.day == v,
        }
    }
}

#[derive(Debug, Clone, Model)]
#[model(table = "checked")]
#[allow(clippy::duplicated_attributes)]
#[listens_for(before_insert, apply_poison)]
#[listens_for(before_update, apply_poison)]
struct Checked {
    id: Option<i64>,
    single: f32,
    double: f64,
    at: DateTime<Utc>,
    naive: NaiveDateTime,
    day: NaiveDate,
    /// A value a before_* listener sets: the check must come after the listeners.
    #[model(skip)]
    poison: Option<Bad>,
}

impl Default for Checked {
    fn default() -> Self {
        let at = Utc.with_ymd_and_hms(2024, 2, 29, 12, 0, 0).unwrap();
        Checked {
            id: None,
            single: 1.5,
            double: -2.25,
            at,
            naive: at.naive_utc(),
            day: at.date_naive(),
            poison: None,
        }
    }
}

impl Checked {
    /// The stored columns, for comparing rows (with `Debug`, NaN equals NaN).
    fn columns(&self) -> String {
        format!(
            "{:?}",
            (self.single, self.double, self.at, self.naive, self.day)
        )
    }
}

fn apply_poison(row: &mut Checked) {
    if let Some(bad) = row.poison.take() {
        bad.apply(row);
    }
}

/// Guarantee "Values are never ... silently changed": a value the backend would store as
/// something else is refused with `Error::Value` before any SQL, on update as on insert,
/// also when a before_* listener set it: f32 and f64 NaN (SQLite, MySQL), infinities
/// (MySQL), `DateTime<Utc>`, `NaiveDateTime` and `NaiveDate` in years 10000, 0 and -1
/// (MySQL). Nothing changes: no row inserted, the updated row as it was. Where the backend
/// can hold the value, it is stored and read back exactly.
///
/// Guards `row::update`'s value check (`prepare(..)?` in `WriteRow::update`; it was
/// `check(model, DB::DIALECT)?` before timestamps were normalised) placed after the
/// before_update listeners, the same in `row::insert`, and `check_float` / `check_year` in
/// column.rs. Without the update check
/// SQLite turns NaN into NULL (a NOT NULL violation in the model's table, not
/// `Error::Value`), MariaDB answers NaN with `Error::Database` (1264, out of range); moved
/// before the listeners, the listener-set values go through;
/// without `check_year`, MariaDB stores year 10000 and answers `Ok`.
async fn unstorable_values_are_refused_on_update_as_on_insert<DB: TestBackend>(db: &TestDb<DB>) {
    Checked::create_table(&db.pool).await.unwrap();
    let mut good = Checked::default();
    good.insert(&db.pool).await.unwrap();
    let good_id = good.id.unwrap();
    let stored_good = || async { Checked::get(&db.pool, good_id).await.unwrap().columns() };
    let expected_good = stored_good().await;
    let mut inserted = 1;

    for bad in Bad::all() {
        for via_listener in [false, true] {
            let what = format!(
                "{bad:?} in `{}` (via listener: {via_listener})",
                bad.column()
            );
            let with_bad = |mut row: Checked| {
                if via_listener {
                    row.poison = Some(bad);
                } else {
                    bad.apply(&mut row);
                }
                row
            };

            let mut new = with_bad(Checked::default());
            let insert = new.insert(&db.pool).await;
            let mut changed = with_bad(good.clone());
            let update = changed.update(&db.pool).await;

            if bad.refused_on(DB::DIALECT) {
                for (op, result) in [("insert", insert), ("update", update)] {
                    match result {
                        Err(Error::Value {
                            model: "Checked",
                            column,
                            ..
                        }) => assert_eq!(column, bad.column(), "{op} {what}"),
                        other => panic!("{op} {what}: expected Error::Value, got {other:?}"),
                    }
                }
                assert_eq!(new.id, None, "{what}");
                assert_eq!(db.count("checked").await, inserted, "insert {what}");
                assert_eq!(stored_good().await, expected_good, "update {what}");
            } else {
                insert.unwrap_or_else(|e| panic!("insert {what}: {e:?}"));
                update.unwrap_or_else(|e| panic!("update {what}: {e:?}"));
                inserted += 1;
                for (op, id) in [("insert", new.id.unwrap()), ("update", good_id)] {
                    let back = Checked::get(&db.pool, id)
                        .await
                        .unwrap_or_else(|e| panic!("reading back {op} {what}: {e:?}"));
                    assert!(bad.held_by(&back), "{op} {what}: read back {back:?}");
                }
                good.clone().update(&db.pool).await.unwrap();
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// 4. NULL read into a field without Option is an error.

/// One model per column type, each reading one column of `nullable`.
macro_rules! null_models {
    ($($model:ident { $field:ident: $ty:ty }),* $(,)?) => {
        $(
            #[derive(Debug, Model)]
            #[model(table = "nullable")]
            struct $model {
                id: Option<i64>,
                $field: $ty,
            }
        )*
    };
}

null_models!(
    NullI16 { small: i16 },
    NullI32 { int: i32 },
    NullI64 { big: i64 },
    NullF32 { single: f32 },
    NullF64 { double: f64 },
    NullBool { flag: bool },
    NullString { text: String },
    NullBytes { bytes: Vec<u8> },
    NullAt { at: DateTime<Utc> },
    NullNaive { naive: NaiveDateTime },
    NullDay { day: NaiveDate },
);

async fn assert_null_is_an_error<M: Model<Key = i64>, DB: TestBackend>(db: &TestDb<DB>) {
    let reads = [
        ("find", M::find(&db.pool, 1).await.map(drop)),
        ("all", M::all(&db.pool).await.map(drop)),
    ];
    for (read, result) in reads {
        match result {
            Err(Error::Database {
                model,
                source: sqlx::Error::ColumnDecode { source, .. },
            }) if source.is::<sqlx::error::UnexpectedNullError>() => {
                assert_eq!(model, M::NAME);
            }
            other => panic!(
                "{}::{read}: NULL into a field without Option gave {other:?}",
                M::NAME
            ),
        }
    }
}

/// Guarantee "reading `NULL` into a non-`Option` field is an error on every backend": for
/// every column type, `find` and `all` of a row whose column is NULL return
/// `Error::Database` with a `ColumnDecode` caused by `UnexpectedNullError`.
///
/// Guards `Backend::get` in backend.rs: `if !T::__NULLABLE && is_null(..) { return
/// Err(ColumnDecode { UnexpectedNullError }) }`. Without it sqlx's SQLite driver reads NULL
/// as `0`, `0.0`, `false`, `""` and an empty `Vec` (and fails on dates with another error),
/// so the SQLite run fails. PostgreSQL's and MySQL's decoders refuse NULL themselves: there
/// the test holds the behaviour, not that line.
async fn null_into_a_field_without_option_is_an_error<DB: TestBackend>(db: &TestDb<DB>) {
    // Hand-written: every column is nullable, unlike the models that read it (the point).
    db.create_table(
        "nullable",
        &[
            ("id", Col::Serial),
            ("small", Col::SmallInt),
            ("int", Col::Int),
            ("big", Col::BigInt),
            ("single", Col::Float),
            ("double", Col::Double),
            ("flag", Col::Bool),
            ("text", Col::Text),
            ("bytes", Col::Blob),
            ("at", Col::Timestamp),
            ("naive", Col::DateTime),
            ("day", Col::Date),
        ],
    )
    .await;
    db.exec(&format!(
        "INSERT INTO {} ({}) VALUES (1)",
        db.quote("nullable"),
        db.quote("id")
    ))
    .await;
    assert_null_is_an_error::<NullI16, DB>(db).await;
    assert_null_is_an_error::<NullI32, DB>(db).await;
    assert_null_is_an_error::<NullI64, DB>(db).await;
    assert_null_is_an_error::<NullF32, DB>(db).await;
    assert_null_is_an_error::<NullF64, DB>(db).await;
    assert_null_is_an_error::<NullBool, DB>(db).await;
    assert_null_is_an_error::<NullString, DB>(db).await;
    assert_null_is_an_error::<NullBytes, DB>(db).await;
    assert_null_is_an_error::<NullAt, DB>(db).await;
    assert_null_is_an_error::<NullNaive, DB>(db).await;
    assert_null_is_an_error::<NullDay, DB>(db).await;
}

// ---------------------------------------------------------------------------------------
// 5. SQLite writers begin IMMEDIATE.

/// A SQLite database file of the test's own (WAL, 5 s busy timeout, 8 connections) with the
/// `queued` table.
async fn queued_file(test: &str) -> Option<TestDb<sqlx::Sqlite>> {
    let db = <sqlx::Sqlite as TestBackend>::fresh_file(test).await?;
    Queued::create_table(&db.pool).await.unwrap();
    Some(db)
}

#[derive(Debug, Default, Model)]
#[model(table = "queued")]
#[listens_for(before_insert, read_first)]
struct Queued {
    id: Option<i64>,
    writer: i64,
    n: i64,
}

/// Reads the table before the write: in a deferred transaction this takes a read snapshot
/// that the INSERT must then upgrade to a write.
async fn read_first<DB: Backend>(
    _row: &mut Queued,
    conn: &mut Conn<DB>,
) -> Result<(), sqlx::Error> {
    let sql = format!("SELECT COUNT(*) FROM {}", DB::DIALECT.quote("queued"));
    let count = conn.fetch_optional(raw(sql)).await?.expect("a count");
    let _rows_so_far: i64 = DB::get(&count, 0)?;
    Ok(())
}

/// Guarantee "On SQLite the transaction starts with `BEGIN IMMEDIATE`, so concurrent
/// writers wait out the busy timeout instead of failing with 'database is locked'": 8 tasks
/// write 50 rows each to one SQLite file (WAL, 5 s busy timeout, 8 connections), each
/// insert's async before_insert listener reading the table first. All 400 succeed.
///
/// Guards `Dialect::begin_write` (`Dialect::Sqlite => Some("BEGIN IMMEDIATE")`) as used by
/// `Session::begin`. With a deferred `BEGIN`, the listener's read takes a snapshot, and the
/// INSERT's upgrade to a write fails at once with SQLITE_BUSY ("database is locked": the
/// busy handler is not called for an upgrade) whenever another connection writes or has
/// written since.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_writers_that_read_first_queue_instead_of_failing() {
    let Some(db) = queued_file(concat!(
        module_path!(),
        "::sqlite_writers_that_read_first_queue_instead_of_failing"
    ))
    .await
    else {
        return;
    };
    let tasks: Vec<_> = (0..8)
        .map(|writer| {
            let pool = db.pool.clone();
            tokio::spawn(async move {
                let mut failures = Vec::new();
                for n in 0..50 {
                    let mut row = Queued {
                        id: None,
                        writer,
                        n,
                    };
                    if let Err(error) = row.insert(&pool).await {
                        failures.push(format!("writer {writer} row {n}: {error:?}"));
                    }
                }
                failures
            })
        })
        .collect();
    let mut failures = Vec::new();
    for task in tasks {
        failures.extend(task.await.unwrap());
    }
    assert!(
        failures.is_empty(),
        "{} of 400 writes failed, first: {}",
        failures.len(),
        failures[0]
    );
    assert_eq!(db.count("queued").await, 400);
    db.finish().await;
}

#[derive(Debug, Default, Model)]
#[model(table = "queued")]
#[listens_for(before_insert, read_then_wait)]
struct SlowQueued {
    id: Option<i64>,
    writer: i64,
    n: i64,
}

/// Reads the table, then gives another connection 300 ms to write before the INSERT.
async fn read_then_wait<DB: Backend>(
    row: &mut SlowQueued,
    conn: &mut Conn<DB>,
) -> Result<(), sqlx::Error> {
    let sql = format!("SELECT COUNT(*) FROM {}", DB::DIALECT.quote("queued"));
    let count = conn.fetch_optional(raw(sql)).await?.expect("a count");
    row.n = DB::get(&count, 0)?;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    Ok(())
}

/// Guarantee "SQLite writers begin IMMEDIATE", for a model's own write against a writer
/// outside this process's queue (raw sqlx here; another process in production): the
/// insert's async listener reads, then the INSERT runs 300 ms later. Guards `Session::begin`'s
/// `begin_write` for a write that owns its transaction. With a deferred `BEGIN` the outside
/// writer commits in between and the INSERT fails at once with SQLITE_BUSY.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_model_write_takes_the_write_lock_at_begin() {
    let Some(db) = queued_file(concat!(
        module_path!(),
        "::sqlite_model_write_takes_the_write_lock_at_begin"
    ))
    .await
    else {
        return;
    };
    let pool = db.pool.clone();
    let ours = tokio::spawn(async move {
        let mut row = SlowQueued {
            id: None,
            writer: 1,
            n: 0,
        };
        row.insert(&pool).await.map(|()| row.id)
    });
    // Inside the listener's wait: the insert's transaction has begun and read.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    sqlx::query("INSERT INTO queued (writer, n) VALUES (99, 0)")
        .execute(&db.pool)
        .await
        .expect("the outside writer waits, then writes");
    let ours = ours
        .await
        .unwrap()
        .expect("the insert must not lose its write to an outside writer");
    let outsiders_id: i64 = sqlx::query_scalar("SELECT id FROM queued WHERE writer = 99")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert!(
        ours.unwrap() < outsiders_id,
        "the outside writer must have waited for the insert's commit"
    );
    db.finish().await;
}

/// Guarantee "SQLite writers begin IMMEDIATE", for `transaction()` against a writer that is
/// not model-core's (another process, or raw sqlx): the body reads, then writes. Guards
/// `commit::transaction`'s `begin_write` for the outermost transaction. With a deferred
/// `BEGIN`, the read takes a snapshot, the other writer commits meanwhile, and the body's
/// write fails at once with SQLITE_BUSY; with `BEGIN IMMEDIATE` the other writer waits in
/// its busy handler until the transaction has committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_transaction_takes_the_write_lock_at_begin() {
    let Some(db) = queued_file(concat!(
        module_path!(),
        "::sqlite_transaction_takes_the_write_lock_at_begin"
    ))
    .await
    else {
        return;
    };
    let (began, begun) = tokio::sync::oneshot::channel::<()>();
    let pool = db.pool.clone();
    let outsider = tokio::spawn(async move {
        begun.await.unwrap();
        sqlx::query("INSERT INTO queued (writer, n) VALUES (99, 0)")
            .execute(&pool)
            .await
            .map(|_| ())
    });
    let result = transaction(&db.pool, |conn| {
        Box::pin(async move {
            let before = Queued::all(&mut *conn).await?.len();
            began.send(()).unwrap();
            // Time for the outsider's INSERT to run (deferred) or to start waiting (immediate).
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            let mut row = Queued {
                id: None,
                writer: 1,
                n: i64::try_from(before).unwrap(),
            };
            row.insert(&mut *conn).await?;
            Ok::<_, Error>(row.id)
        })
    })
    .await;
    let ours = result.expect("the transaction must not lose its write to an outside writer");
    outsider
        .await
        .unwrap()
        .expect("the outside writer waits, then writes");
    let outsiders_id: i64 = sqlx::query_scalar("SELECT id FROM queued WHERE writer = 99")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert!(
        ours.unwrap() < outsiders_id,
        "the outside writer must have waited for the transaction's commit"
    );
    db.finish().await;
}

// ---------------------------------------------------------------------------------------
// 6. A failed write leaves the caller's transaction usable.

#[derive(Debug, Default, Model)]
#[model(table = "tags")]
#[listens_for(before_insert, trim_label)]
struct Tag {
    id: Option<i64>,
    #[model(unique)]
    label: String,
}

fn trim_label(tag: &mut Tag) {
    tag.label = tag.label.trim().to_owned();
}

fn tag(label: &str) -> Tag {
    Tag {
        id: None,
        label: label.into(),
    }
}

/// The same for a set-based write that runs as one statement (`Tag` has no update
/// listener): a failed `UPDATE ... WHERE` inside the caller's transaction leaves it usable.
///
/// Guards `query::write::run`'s `in_transaction && DIALECT == Postgres` (a savepoint around
/// the statement on PostgreSQL): without it the next write fails with 25P02 there.
async fn failed_set_based_statement_leaves_the_callers_transaction_usable<DB: TestBackend>(
    db: &TestDb<DB>,
) {
    Tag::create_table(&db.pool).await.unwrap();
    let mut tx = db.pool.begin().await.unwrap();
    tag("a").insert(&mut tx).await.unwrap();
    tag("b").insert(&mut tx).await.unwrap();
    let error = Tag::filter(|t| t.label.eq("b"))
        .update(|t| t.label.set("a".to_owned()), &mut tx)
        .await
        .unwrap_err();
    expect_unique(&error, "Tag");
    tag("c")
        .insert(&mut tx)
        .await
        .expect("the transaction is still usable after the failed statement");
    tx.commit().await.unwrap();
    assert_eq!(stored_labels(db).await, ["a", "b", "c"]);
}

/// Guarantee "In a caller's transaction only the failed write's savepoint is rolled back;
/// the caller decides about the rest": a single-statement write (only a synchronous
/// before_insert listener) that fails with a unique violation inside a `sqlx::Transaction`
/// leaves it usable; the next write and the commit succeed and keep both other rows.
///
/// Guards `ops::write_on`'s `|| conn.is_in_transaction()` in `needs_transaction` (a savepoint
/// even for one statement). Without it PostgreSQL aborts the caller's whole transaction at
/// the failed INSERT: the next insert fails with 25P02 "current transaction is aborted".
/// SQLite and MySQL roll back only the failed statement, so there the test holds the
/// behaviour, not that line.
async fn failed_statement_leaves_the_callers_transaction_usable<DB: TestBackend>(db: &TestDb<DB>) {
    Tag::create_table(&db.pool).await.unwrap();
    let mut tx = db.pool.begin().await.unwrap();
    tag("a").insert(&mut tx).await.unwrap();
    let mut duplicate = tag(" a ");
    let error = duplicate.insert(&mut tx).await.unwrap_err();
    expect_unique(&error, "Tag");
    assert_eq!(duplicate.id, None);
    tag("b")
        .insert(&mut tx)
        .await
        .expect("the transaction is still usable after the failed write");
    tx.commit().await.unwrap();
    assert_eq!(stored_labels(db).await, ["a", "b"]);
}

/// The labels of the stored tags, in key order (`Model::all`'s).
async fn stored_labels<DB: TestBackend>(db: &TestDb<DB>) -> Vec<String> {
    Tag::all(&db.pool)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.label)
        .collect()
}

// ---------------------------------------------------------------------------------------
// 7. No commit listener for a failed write inside transaction().

#[derive(Debug, Clone, Default, Model)]
#[model(table = "tracked")]
#[listens_for(before_update, refuse_update)]
#[listens_for(after_delete, refuse_delete)]
#[listens_for(after_update_commit, updated)]
#[listens_for(after_delete_commit, deleted)]
struct Tracked {
    id: Option<i64>,
    name: String,
    #[model(skip)]
    refuse: bool,
    #[model(skip)]
    trace: Trace,
}

fn refuse_update(row: &mut Tracked) -> Result<(), Refused> {
    if row.refuse {
        Err(Refused)
    } else {
        Ok(())
    }
}

fn refuse_delete(row: &Tracked) -> Result<(), Refused> {
    if row.refuse {
        Err(Refused)
    } else {
        Ok(())
    }
}

fn updated(row: &Tracked) {
    row.trace
        .lock()
        .unwrap()
        .push(format!("updated:{}", row.name));
}

fn deleted(row: &Tracked) {
    row.trace
        .lock()
        .unwrap()
        .push(format!("deleted:{}", row.name));
}

/// Guarantee "No after-commit listener runs for a rolled-back write": inside
/// `model_core::transaction`, updates and deletes that fail (a before_update veto, an
/// after_delete veto after the DELETE ran, a missing row) and whose errors the body handles
/// do not run their `after_update_commit` / `after_delete_commit` listeners after the
/// commit; the successful writes' listeners do, once, after it.
///
/// Guards `ops::write_on`'s `result.is_ok()` condition on queueing the after-commit calls
/// (`commit::enqueue`). Queued regardless, the failed writes' listeners would run after the
/// transaction's commit, as if they had been written.
async fn failed_writes_in_a_transaction_run_no_commit_listener<DB: TestBackend>(db: &TestDb<DB>) {
    Tracked::create_table(&db.pool).await.unwrap();
    let trace = Trace::default();
    let mut rows: Vec<Tracked> = ["kept", "vetoed", "undeletable", "gone"]
        .into_iter()
        .map(|name| Tracked {
            name: name.into(),
            trace: trace.clone(),
            ..Tracked::default()
        })
        .collect();
    Tracked::insert_all(&mut rows, &db.pool).await.unwrap();
    let [mut kept, mut vetoed, mut undeletable, gone] = <[Tracked; 4]>::try_from(rows).unwrap();
    kept.name = "kept, edited".into();
    vetoed.name = "vetoed, edited".into();
    vetoed.refuse = true;
    undeletable.refuse = true;
    let mut ghost = Tracked {
        id: Some(999_999),
        name: "ghost".into(),
        trace: trace.clone(),
        ..Tracked::default()
    };

    let inner = trace.clone();
    let errors = transaction(&db.pool, |conn| {
        Box::pin(async move {
            kept.update(&mut *conn).await?;
            let errors = vec![
                vetoed.update(&mut *conn).await.unwrap_err(),
                ghost.update(&mut *conn).await.unwrap_err(),
                undeletable.delete(&mut *conn).await.unwrap_err(),
                ghost.delete(&mut *conn).await.unwrap_err(),
            ];
            gone.delete(&mut *conn).await?;
            assert_eq!(
                entries(&inner),
                Vec::<String>::new(),
                "not before the commit"
            );
            Ok::<_, Error>(errors)
        })
    })
    .await
    .unwrap();

    expect_listener(&errors[0], "Tracked", Event::BeforeUpdate, "refuse_update");
    assert!(
        matches!(
            errors[1],
            Error::NotFound {
                model: "Tracked",
                ..
            }
        ),
        "{:?}",
        errors[1]
    );
    expect_listener(&errors[2], "Tracked", Event::AfterDelete, "refuse_delete");
    assert!(
        matches!(
            errors[3],
            Error::NotFound {
                model: "Tracked",
                ..
            }
        ),
        "{:?}",
        errors[3]
    );
    assert_eq!(entries(&trace), ["updated:kept, edited", "deleted:gone"]);
    let names: Vec<String> = Tracked::all(&db.pool)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(names, ["kept, edited", "vetoed", "undeletable"]);
}

// ---------------------------------------------------------------------------------------
// 8. A commit refused by a deferred constraint writes nothing and says so.

/// MySQL has no deferred constraints: these tests run on SQLite and PostgreSQL.
mod deferred_constraint {
    use super::*;

    #[derive(Debug, Default, Model)]
    #[model(table = "parents")]
    struct Parent {
        id: Option<i64>,
        name: String,
    }

    /// A single statement: only a synchronous before_insert listener, sent without BEGIN.
    #[derive(Debug, Default, Model)]
    #[model(table = "children")]
    #[listens_for(before_insert, name_child)]
    struct SyncChild {
        id: Option<i64>,
        parent_id: i64,
        name: String,
    }

    fn name_child(child: &mut SyncChild) {
        child.name = format!("child of {}", child.parent_id);
    }

    /// An async before_insert listener: the insert runs in a transaction that the COMMIT ends.
    #[derive(Debug, Default, Model)]
    #[model(table = "children")]
    #[listens_for(before_insert, look_up_parent)]
    struct AsyncChild {
        id: Option<i64>,
        parent_id: i64,
        name: String,
    }

    async fn look_up_parent<DB: Backend>(
        child: &mut AsyncChild,
        conn: &mut Conn<DB>,
    ) -> Result<(), sqlx::Error> {
        let sql = format!("SELECT COUNT(*) FROM {}", DB::DIALECT.quote("parents"));
        let row = conn.fetch_optional(raw(sql)).await?.expect("a count");
        child.name = format!("one of {} families", DB::get::<i64>(&row, 0)?);
        Ok(())
    }

    async fn schema<DB: TestBackend>(db: &TestDb<DB>) -> i64 {
        Parent::create_table(&db.pool).await.unwrap();
        // Hand-written: the deferred foreign key is what these tests are about.
        db.create_table_with(
            "children",
            &[
                ("id", Col::Serial),
                ("parent_id", Col::BigIntNotNull),
                ("name", Col::TextNotNull),
            ],
            &[&format!(
                "FOREIGN KEY ({}) REFERENCES {} ({}) DEFERRABLE INITIALLY DEFERRED",
                db.quote("parent_id"),
                db.quote("parents"),
                db.quote("id")
            )],
        )
        .await;
        let mut parent = Parent {
            id: None,
            name: "p".into(),
        };
        parent.insert(&db.pool).await.unwrap();
        parent.id.unwrap()
    }

    fn expect_foreign_key(result: Result<(), Error>, model: &str) {
        match result {
            Err(Error::Constraint {
                model: m,
                kind: ConstraintKind::ForeignKey,
                ..
            }) => assert_eq!(m, model),
            other => panic!("{model}: expected a foreign key violation, got {other:?}"),
        }
    }

    /// Guarantee "When ... the commit fails, the transaction is rolled back before the call
    /// returns" and "A failed insert clears the generated key it had set", for a write that
    /// is a single statement sent without BEGIN: an orphan whose deferred foreign key fails
    /// when the statement commits is `Error::Constraint { kind: ForeignKey }`, stores
    /// nothing, and keeps no key.
    ///
    /// Guards `Backend::__insert_generated` (which `insert_returning_key` calls) reading the
    /// `INSERT ... RETURNING` to its end
    /// (HEAD: `query.fetch_one(conn)`, which stops after the row: on SQLite the statement's
    /// own commit then fails unseen, sqlx drops that error, and the write is answered `Ok`
    /// with a key naming no row).
    async fn deferred_constraint_failing_a_single_statement_is_an_error<DB: TestBackend>(
        db: &TestDb<DB>,
    ) {
        let parent_id = schema(db).await;
        let mut child = SyncChild {
            parent_id,
            ..SyncChild::default()
        };
        child.insert(&db.pool).await.unwrap();
        let mut orphan = SyncChild {
            parent_id: 999_999,
            ..SyncChild::default()
        };
        let result = orphan.insert(&db.pool).await;
        assert_eq!(db.count("children").await, 1, "the orphan is not stored");
        expect_foreign_key(result, "SyncChild");
        assert_eq!(orphan.id, None, "no key for a row that does not exist");
    }

    /// Guarantee "When ... the commit fails, the transaction is rolled back before the call
    /// returns" and "A failed insert clears the generated key it had set", for a write in a
    /// transaction of its own (an async listener began it): the COMMIT fails on the
    /// deferred foreign key; the caller gets `Error::Constraint { kind: ForeignKey }`, no
    /// row, and the key set after the INSERT cleared again.
    ///
    /// Guards `ops::finish`'s commit error mapping (`session.commit().await.map_err(..)?`)
    /// and the clearing of generated keys after a failed write (HEAD: only when
    /// `needs_transaction`, decided before the async listener began the transaction, so the
    /// key stays set).
    async fn deferred_constraint_failing_the_commit_is_an_error<DB: TestBackend>(db: &TestDb<DB>) {
        let parent_id = schema(db).await;
        let mut child = AsyncChild {
            parent_id,
            ..AsyncChild::default()
        };
        child.insert(&db.pool).await.unwrap();
        let mut orphan = AsyncChild {
            parent_id: 999_999,
            ..AsyncChild::default()
        };
        let result = orphan.insert(&db.pool).await;
        assert_eq!(db.count("children").await, 1, "the orphan is not stored");
        expect_foreign_key(result, "AsyncChild");
        assert_eq!(
            orphan.id, None,
            "the key set before the failed commit is cleared"
        );
    }

    model_tests::per_backend!(
        @backend sqlite,
        ::sqlx::Sqlite,
        [
            deferred_constraint_failing_a_single_statement_is_an_error,
            deferred_constraint_failing_the_commit_is_an_error,
        ],
        []
    );
    model_tests::per_backend!(
        @backend postgres,
        ::sqlx::Postgres,
        [
            deferred_constraint_failing_a_single_statement_is_an_error,
            deferred_constraint_failing_the_commit_is_an_error,
        ],
        []
    );
}

/// Guarantee "the caller gets a typed error that names the model", for reads: a read whose
/// statement fails (here, its table does not exist) names the model, through every read
/// path. Guards `ops::Loader::model` and the `Error::from_sqlx(name, ..)` of `ops::read`.
async fn failed_reads_name_their_model<DB: TestBackend>(db: &TestDb<DB>) {
    // No `tags` table.
    let errors = [
        Tag::all(&db.pool).await.unwrap_err(),
        Tag::find(&db.pool, 1).await.unwrap_err(),
        Tag::query().all(&db.pool).await.unwrap_err(),
    ];
    for error in errors {
        assert!(
            matches!(error, Error::Database { model: "Tag", .. }),
            "{error:?}"
        );
    }
}

#[derive(Debug, Model)]
#[model(table = "doomed")]
#[listens_for(before_insert, kill_own_connection)]
struct Doomed {
    id: Option<i64>,
    name: String,
}

/// Has the server end this listener's own connection (from a second connection), inside the
/// write's transaction and before its INSERT.
async fn kill_own_connection<DB: Backend>(
    _row: &mut Doomed,
    conn: &mut Conn<DB>,
) -> Result<(), sqlx::Error> {
    let sql = match DB::DIALECT {
        Dialect::Postgres => "SELECT CAST(pg_backend_pid() AS BIGINT)",
        _ => "SELECT CAST(CONNECTION_ID() AS SIGNED)",
    };
    let row = conn.fetch_optional(raw(sql.into())).await?.expect("an id");
    let id: i64 = DB::get(&row, 0)?;
    match DB::DIALECT {
        Dialect::Postgres => {
            let mut admin = sqlx::PgConnection::connect(&model_tests::pg_url()).await?;
            sqlx::query("SELECT pg_terminate_backend($1)")
                .bind(i32::try_from(id).expect("a pid"))
                .execute(&mut admin)
                .await?;
        }
        Dialect::MySql => {
            let mut admin = sqlx::MySqlConnection::connect(&model_tests::mysql_url()).await?;
            sqlx::query(sqlx::AssertSqlSafe(format!("KILL {id}")))
                .execute(&mut admin)
                .await?;
        }
        Dialect::Sqlite => {}
    }
    // Let the server finish the kill before the INSERT is sent.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    Ok(())
}

/// Guarantee "an unknown outcome is said to be unknown", and only then: a connection lost
/// inside a transaction, before its COMMIT was sent, committed nothing, and the caller is
/// told so (a database error naming the model), not `OutcomeUnknown`. Guards
/// `Session::autocommits` (only a write without a transaction of its own turns a lost
/// connection into `OutcomeUnknown`). PostgreSQL and MySQL: SQLite has no connection to lose.
async fn a_connection_lost_before_commit_is_a_known_failure<DB: TestBackend>(db: &TestDb<DB>) {
    if DB::DIALECT == Dialect::Sqlite {
        return;
    }
    Doomed::create_table(&db.pool).await.unwrap();
    let mut row = Doomed {
        id: None,
        name: "never stored".into(),
    };
    let error = row.insert(&db.pool).await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::Database {
                model: "Doomed",
                ..
            }
        ),
        "nothing was committed, and that is known: {error:?}"
    );
    assert_eq!(row.id, None);
    assert_eq!(db.count("doomed").await, 0);
}

per_backend!(
    a_connection_lost_before_commit_is_a_known_failure,
    failed_reads_name_their_model,
    after_update_and_after_delete_see_their_statement,
    unstorable_values_are_refused_on_update_as_on_insert,
    null_into_a_field_without_option_is_an_error,
    failed_statement_leaves_the_callers_transaction_usable,
    failed_set_based_statement_leaves_the_callers_transaction_usable,
    failed_writes_in_a_transaction_run_no_commit_listener;
    file: failed_write_has_rolled_back_when_it_returns,
);
