//! Tables created from the models (`model_core::schema`), on SQLite, PostgreSQL and MySQL:
//! the created tables are read back from the database's own catalogue and compared with what
//! the models declare; declared lengths are enforced before writing; the migration files
//! `Schema` writes are run by sqlx's own migrator.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use model_core::schema::Schema;
use model_core::{ColumnType, Conn, ConstraintKind, Dialect, Error, Model};
use model_tests::{per_backend, TestBackend, TestDb};

#[derive(Debug, Clone, Copy, PartialEq, ColumnType)]
enum Role {
    Reader,
    Writer,
}

/// A newtype of text takes a `length` too.
#[derive(Debug, Clone, PartialEq, ColumnType)]
struct Handle(String);

#[derive(Debug, Clone, PartialEq, Model)]
#[model(table = "authors")]
struct Author {
    id: Option<i64>,
    #[model(length = 40)]
    name: String,
    #[model(unique)]
    email: String,
    #[model(length = 12, unique)]
    handle: Option<Handle>,
    #[model(index)]
    joined: NaiveDate,
    bio: Option<String>,
    karma: i32,
    score: f64,
    active: bool,
    avatar: Option<Vec<u8>>,
    #[model(default = "0")]
    visits: i64,
    role: Role,
    #[model(column = "seen_at")]
    last_seen: Option<DateTime<Utc>>,
    #[model(skip)]
    cached: String,
}

/// A key the model sets, of text, and a 32-bit generated key elsewhere.
#[derive(Debug, Clone, PartialEq, Model)]
#[model(table = "tags")]
struct Tag {
    #[model(primary_key)]
    slug: String,
    #[model(length = 20, index)]
    label: String,
}

#[derive(Debug, Clone, PartialEq, Model)]
#[model(table = "notes")]
struct Note {
    id: Option<i32>,
    text: String,
}

/// A 16-bit generated key and a unique binary column (a token's digest): PostgreSQL's
/// identity column is as wide as the key's type, which is what decodes it.
#[derive(Debug, Clone, PartialEq, Model)]
#[model(table = "tokens")]
struct Token {
    id: Option<i16>,
    #[model(unique)]
    digest: Vec<u8>,
    #[model(index)]
    prefix: Vec<u8>,
}

/// A binary primary key: MySQL and MariaDB cannot key a `LONGBLOB`, so a keyed `Vec<u8>`
/// is a `VARBINARY` there.
#[derive(Debug, Clone, PartialEq, Model)]
#[model(table = "blobs")]
struct Blob {
    #[model(primary_key)]
    hash: Vec<u8>,
    size: i64,
}

/// A table whose constraints the model does not know: its own `NOT NULL` on a column the
/// model says is optional, and a `CHECK`.
#[derive(Debug, Clone, PartialEq, Model)]
#[model(table = "gauges")]
struct Gauge {
    id: Option<i64>,
    reading: i64,
    label: Option<String>,
}

/// A composite key: both parts in the table's `PRIMARY KEY`.
#[derive(Debug, Clone, PartialEq, Model)]
#[model(table = "tag_links")]
struct TagLink {
    #[model(primary_key)]
    author_id: i64,
    #[model(primary_key)]
    tag: String,
    #[model(length = 8)]
    note: Option<String>,
}

fn author(name: &str, email: &str) -> Author {
    Author {
        id: None,
        name: name.into(),
        email: email.into(),
        handle: None,
        joined: NaiveDate::from_ymd_opt(2024, 2, 29).unwrap(),
        bio: None,
        karma: -3,
        score: 0.5,
        active: true,
        avatar: None,
        visits: 0,
        role: Role::Writer,
        last_seen: None,
        cached: String::new(),
    }
}

fn schema() -> Schema {
    Schema::new()
        .model::<Author>()
        .model::<Tag>()
        .model::<Note>()
}

/// A column as the database describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Described {
    name: String,
    nullable: bool,
    /// The declared maximum length of text, in characters.
    max_chars: Option<i64>,
    unique: bool,
    indexed: bool,
    primary: bool,
}

/// Rows of `sql`, each column read as text (`NULL` as `None`).
async fn rows<DB: TestBackend>(
    db: &TestDb<DB>,
    sql: &str,
    width: usize,
) -> Vec<Vec<Option<String>>> {
    let mut conn = db.pool.acquire().await.unwrap();
    let rows = Conn::<DB>::from_mut(&mut conn)
        .fetch_all(sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    rows.iter()
        .map(|row| {
            (0..width)
                .map(|i| DB::get::<Option<String>>(row, i).unwrap_or_else(|e| panic!("{sql}: {e}")))
                .collect()
        })
        .collect()
}

/// `table`'s columns, in order, as the database's catalogue describes them.
async fn describe<DB: TestBackend>(db: &TestDb<DB>, table: &str) -> Vec<Described> {
    // (name, nullable "1"/"0", max chars) in column order, then (column, unique, primary)
    // for every single-column index.
    let (columns_sql, indexes_sql) = match DB::DIALECT {
        Dialect::Sqlite => (
            format!(
                // SQLite reports an `INTEGER PRIMARY KEY` as nullable; it is the rowid,
                // which never is.
                "SELECT name, CAST(\"notnull\" = 0 AND pk = 0 AS TEXT), \
                 CAST(CASE WHEN type LIKE 'VARCHAR(%' THEN CAST(substr(type, 9) AS INTEGER) END AS TEXT) \
                 FROM pragma_table_info('{table}') ORDER BY cid"
            ),
            format!(
                "SELECT ii.name, CAST(il.\"unique\" AS TEXT), CAST(il.origin = 'pk' AS TEXT) \
                 FROM pragma_index_list('{table}') il JOIN pragma_index_info(il.name) ii \
                 WHERE (SELECT COUNT(*) FROM pragma_index_info(il.name)) = 1 \
                 UNION ALL SELECT name, '1', '1' FROM pragma_table_info('{table}') \
                 WHERE pk = 1 AND type = 'INTEGER'"
            ),
        ),
        Dialect::Postgres => (
            format!(
                "SELECT column_name::text, CASE WHEN is_nullable = 'YES' THEN '1' ELSE '0' END, \
                 character_maximum_length::text FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = '{table}' \
                 ORDER BY ordinal_position"
            ),
            format!(
                "SELECT a.attname::text, CASE WHEN i.indisunique THEN '1' ELSE '0' END, \
                 CASE WHEN i.indisprimary THEN '1' ELSE '0' END \
                 FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid \
                 JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0] \
                 WHERE c.relname = '{table}' AND c.relnamespace = current_schema()::regnamespace \
                 AND i.indnatts = 1"
            ),
        ),
        Dialect::MySql => (
            format!(
                "SELECT CAST(COLUMN_NAME AS CHAR), CASE WHEN IS_NULLABLE = 'YES' THEN '1' ELSE '0' END, \
                 CAST(CHARACTER_MAXIMUM_LENGTH AS CHAR) FROM information_schema.COLUMNS \
                 WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '{table}' ORDER BY ORDINAL_POSITION"
            ),
            format!(
                "SELECT CAST(s.COLUMN_NAME AS CHAR), CASE WHEN s.NON_UNIQUE = 0 THEN '1' ELSE '0' END, \
                 CASE WHEN s.INDEX_NAME = 'PRIMARY' THEN '1' ELSE '0' END \
                 FROM information_schema.STATISTICS s WHERE s.TABLE_SCHEMA = DATABASE() \
                 AND s.TABLE_NAME = '{table}' AND (SELECT COUNT(*) FROM information_schema.STATISTICS t \
                 WHERE t.TABLE_SCHEMA = s.TABLE_SCHEMA AND t.TABLE_NAME = s.TABLE_NAME \
                 AND t.INDEX_NAME = s.INDEX_NAME) = 1"
            ),
        ),
    };
    let indexes = rows(db, &indexes_sql, 3).await;
    rows(db, &columns_sql, 3)
        .await
        .into_iter()
        .map(|row| {
            let name = row[0].clone().unwrap();
            let on_it: Vec<_> = indexes
                .iter()
                .filter(|i| i[0].as_deref() == Some(&name[..]))
                .collect();
            let mut described = Described {
                nullable: row[1].as_deref() == Some("1"),
                // MySQL reports a length for every text type (LONGTEXT's is 4294967295).
                max_chars: row[2]
                    .as_deref()
                    .map(|n| n.parse().unwrap())
                    .filter(|&n: &i64| n <= 65_535),
                unique: false,
                indexed: false,
                primary: false,
                name,
            };
            for index in on_it {
                described.indexed = true;
                described.unique |= index[1].as_deref() == Some("1");
                described.primary |= index[2].as_deref() == Some("1");
            }
            described
        })
        .collect()
}

/// What a model declares, in the form of [`Described`].
fn declared(
    name: &str,
    nullable: bool,
    max_chars: Option<i64>,
    unique: bool,
    indexed: bool,
) -> Described {
    Described {
        name: name.into(),
        nullable,
        max_chars,
        unique,
        indexed: indexed || unique,
        primary: false,
    }
}

fn key(name: &str) -> Described {
    Described {
        primary: true,
        unique: true,
        indexed: true,
        ..declared(name, false, None, false, false)
    }
}

async fn tables_created_from_models_hold_what_the_models_declare<DB: TestBackend>(db: &TestDb<DB>) {
    schema().create_all(&db.pool).await.unwrap();

    // MySQL declares `VARCHAR(255)` for unique text without a length, so that it can be
    // indexed.
    let email_chars = (DB::DIALECT == Dialect::MySql).then_some(255);
    assert_eq!(
        describe(db, "authors").await,
        [
            key("id"),
            declared("name", false, Some(40), false, false),
            declared("email", false, email_chars, true, false),
            declared("handle", true, Some(12), true, false),
            declared("joined", false, None, false, true),
            declared("bio", true, None, false, false),
            declared("karma", false, None, false, false),
            declared("score", false, None, false, false),
            declared("active", false, None, false, false),
            declared("avatar", true, None, false, false),
            declared("visits", false, None, false, false),
            declared("role", false, None, false, false),
            declared("seen_at", true, None, false, false),
        ]
    );
    let slug_chars = (DB::DIALECT == Dialect::MySql).then_some(255);
    assert_eq!(
        describe(db, "tags").await,
        [
            Described {
                max_chars: slug_chars,
                ..key("slug")
            },
            declared("label", false, Some(20), false, true),
        ]
    );
    assert_eq!(describe(db, "notes").await[0], key("id"));

    // The tables work as the models' tables: keys generated, every value round-trips.
    let mut written = Author {
        handle: Some(Handle("ada".into())),
        bio: Some("Analyst".into()),
        avatar: Some(vec![0, 255, 7]),
        visits: 12,
        last_seen: Some(Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap()),
        role: Role::Reader,
        ..author(&"é".repeat(40), "ada@example.com")
    };
    written.insert(&db.pool).await.unwrap();
    // Generated, not necessarily 1: a Galera cluster steps MySQL's keys by its size, from an
    // offset per node.
    let key = written.id.expect("a generated key");
    assert_eq!(Author::get(&db.pool, key).await.unwrap(), written);
    let mut tag = Tag {
        slug: "rust".into(),
        label: "Rust".into(),
    };
    tag.insert(&db.pool).await.unwrap();
    assert_eq!(Tag::get(&db.pool, "rust".into()).await.unwrap(), tag);
    let mut note = Note {
        id: None,
        text: "x".into(),
    };
    note.insert(&db.pool).await.unwrap();
    let key = note.id.expect("a generated key");
    assert_eq!(Note::get(&db.pool, key).await.unwrap().text, "x");
}

/// `#[model(default = "0")]` is the column's default: SQL that leaves the column out gets it.
async fn a_declared_default_is_the_columns_default<DB: TestBackend>(db: &TestDb<DB>) {
    Author::create_table(&db.pool).await.unwrap();
    db.exec(&format!(
        "INSERT INTO {} ({}, {}, {}, {}, {}, {}, {}, {}) VALUES ('n', 'e', '2024-01-01', 1, 1.5, TRUE, 'Reader', NULL)",
        db.quote("authors"),
        db.quote("name"),
        db.quote("email"),
        db.quote("joined"),
        db.quote("karma"),
        db.quote("score"),
        db.quote("active"),
        db.quote("role"),
        db.quote("seen_at"),
    ))
    .await;
    let stored = Author::all(&db.pool).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].visits, 0);
}

fn assert_too_long(result: Result<(), Error>, column: &str) {
    match result {
        Err(Error::Value {
            model: "Author",
            column: refused,
            reason,
        }) if refused == column => {
            assert!(reason.starts_with("the column holds at most "), "{reason}");
        }
        other => panic!("expected Error::Value for Author.{column}, got {other:?}"),
    }
}

async fn a_value_longer_than_its_length_is_refused_and_nothing_written<DB: TestBackend>(
    db: &TestDb<DB>,
) {
    schema().create_all(&db.pool).await.unwrap();

    // Characters are counted, not bytes: 41 two-byte characters are one too many.
    let error = author(&"é".repeat(41), "a@example.com")
        .insert(&db.pool)
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "Author.name cannot be written: the column holds at most 40 characters"
    );
    let too_long_handle = Author {
        handle: Some(Handle("x".repeat(13))),
        ..author("n", "b@example.com")
    };
    assert_too_long(too_long_handle.clone().insert(&db.pool).await, "handle");
    assert_eq!(db.count("authors").await, 0);

    // A batch with one bad row writes none.
    let mut batch = vec![author("ok", "c@example.com"), too_long_handle];
    assert_too_long(Author::insert_all(&mut batch, &db.pool).await, "handle");
    assert_eq!(db.count("authors").await, 0);
    assert_eq!(batch[0].id, None);

    // Updates: one model, and set-based through the query builder.
    let mut stored = author(&"é".repeat(40), "d@example.com");
    stored.insert(&db.pool).await.unwrap();
    let mut longer = stored.clone();
    longer.name.push('x');
    assert_too_long(longer.update(&db.pool).await, "name");
    let result = Author::filter(|a| a.email.eq("d@example.com".to_owned()))
        .update(|a| a.name.set("y".repeat(41)), &db.pool)
        .await
        .map(drop);
    assert_too_long(result, "name");
    assert_eq!(
        Author::get(&db.pool, stored.id.unwrap()).await.unwrap(),
        stored
    );
    let result = Author::filter(|a| a.email.eq("d@example.com".to_owned()))
        .update(|a| a.name.set("y".repeat(40)), &db.pool)
        .await;
    assert_eq!(result.unwrap(), 1);

    // The database holds SQL written by hand to the same limit, SQLite included.
    let sql = format!(
        "UPDATE {} SET {} = '{}'",
        db.quote("authors"),
        db.quote("name"),
        "z".repeat(41)
    );
    let mut conn = db.pool.acquire().await.unwrap();
    let refused = Conn::<DB>::from_mut(&mut conn)
        .execute(sqlx::query(sqlx::AssertSqlSafe(sql)))
        .await;
    assert!(refused.is_err(), "{refused:?}");
}

async fn a_unique_column_refuses_a_second_equal_value<DB: TestBackend>(db: &TestDb<DB>) {
    schema().create_all(&db.pool).await.unwrap();
    author("first", "same@example.com")
        .insert(&db.pool)
        .await
        .unwrap();
    let error = author("second", "same@example.com")
        .insert(&db.pool)
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::Constraint {
                model: "Author",
                kind: ConstraintKind::Unique,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(db.count("authors").await, 1);
    // `NULL`s are not equal: two authors without a handle are fine.
    author("third", "other@example.com")
        .insert(&db.pool)
        .await
        .unwrap();
}

async fn small_and_binary_keys_round_trip<DB: TestBackend>(db: &TestDb<DB>) {
    Token::create_table(&db.pool).await.unwrap();
    let mut token = Token {
        id: None,
        digest: vec![0xde, 0xad, 0xbe, 0xef],
        prefix: vec![0xde],
    };
    token.insert(&db.pool).await.unwrap();
    assert_eq!(
        Token::get(&db.pool, token.id.unwrap()).await.unwrap(),
        token
    );
    let mut again = Token {
        id: None,
        digest: token.digest.clone(),
        prefix: vec![0xbe],
    };
    let error = again.insert(&db.pool).await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::Constraint {
                model: "Token",
                kind: ConstraintKind::Unique,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        Token::filter(|t| t.prefix.eq(vec![0xde]))
            .all(&db.pool)
            .await
            .unwrap(),
        [token]
    );

    Blob::create_table(&db.pool).await.unwrap();
    let mut blob = Blob {
        hash: vec![0; 32],
        size: 7,
    };
    blob.insert(&db.pool).await.unwrap();
    assert_eq!(Blob::get(&db.pool, vec![0; 32]).await.unwrap(), blob);
    blob.size = 8;
    blob.update(&db.pool).await.unwrap();
    assert_eq!(Blob::get(&db.pool, vec![0; 32]).await.unwrap().size, 8);
}

/// A write that breaks a constraint of the table (here ones the model does not declare) is
/// `Error::Constraint` of the kind it broke, as a unique or foreign key is, and writes
/// nothing.
async fn a_broken_not_null_or_check_constraint_is_a_typed_error<DB: TestBackend>(db: &TestDb<DB>) {
    let id = match DB::DIALECT {
        Dialect::Sqlite => "INTEGER PRIMARY KEY",
        Dialect::Postgres => "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
        Dialect::MySql => "BIGINT AUTO_INCREMENT PRIMARY KEY",
    };
    db.exec(&format!(
        "CREATE TABLE {} ({} {id}, {} BIGINT NOT NULL CHECK ({} >= 0), {} VARCHAR(20) NOT NULL)",
        db.quote("gauges"),
        db.quote("id"),
        db.quote("reading"),
        db.quote("reading"),
        db.quote("label"),
    ))
    .await;
    let gauge = |reading: i64, label: Option<&str>| Gauge {
        id: None,
        reading,
        label: label.map(Into::into),
    };
    for (mut bad, kind) in [
        (gauge(1, None), ConstraintKind::NotNull),
        (gauge(-1, Some("below zero")), ConstraintKind::Check),
    ] {
        let error = bad.insert(&db.pool).await.unwrap_err();
        match &error {
            Error::Constraint {
                model: "Gauge",
                kind: k,
                ..
            } => assert_eq!(*k, kind, "{error:?}"),
            other => panic!("expected a {kind:?} constraint error, got {other:?}"),
        }
        assert_eq!(bad.id, None);
    }
    assert_eq!(db.count("gauges").await, 0);
    gauge(1, Some("fine")).insert(&db.pool).await.unwrap();
}

async fn create_all_leaves_existing_tables_and_rows_alone<DB: TestBackend>(db: &TestDb<DB>) {
    schema().create_all(&db.pool).await.unwrap();
    author("kept", "kept@example.com")
        .insert(&db.pool)
        .await
        .unwrap();
    schema().create_all(&db.pool).await.unwrap();
    Tag::create_table(&db.pool).await.unwrap();
    assert_eq!(db.count("authors").await, 1);
    assert_eq!(describe(db, "tags").await.len(), 2);
}

/// Every replica of a service runs `create_all` at start-up, at once: each succeeds (on
/// PostgreSQL two concurrent `CREATE TABLE IF NOT EXISTS` of one table make one fail with a
/// duplicate key in `pg_type` unless something orders them) and the tables are made once.
async fn concurrent_create_all_calls_all_succeed<DB: TestBackend>(db: &TestDb<DB>) {
    let mut replicas = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let pool = db.pool.clone();
        replicas.spawn(async move { schema().create_all(&pool).await });
    }
    while let Some(done) = replicas.join_next().await {
        done.expect("no panic")
            .expect("a concurrent create_all succeeds");
    }
    author("after", "after@example.com")
        .insert(&db.pool)
        .await
        .unwrap();
    assert_eq!(db.count("authors").await, 1);
}

/// The files `write_migration` writes are what sqlx's migrator runs, once.
async fn migration_files_run_through_sqlx_migrator<DB: TestBackend>(db: &TestDb<DB>)
where
    DB::Connection: sqlx::migrate::Migrate,
{
    let dir = std::env::temp_dir().join(format!(
        "model-tests-migrations-{:?}-{}",
        DB::DIALECT,
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let first = schema().write_migration(&dir, "create_tables").unwrap();
    let second = Schema::new()
        .model::<Note>()
        .write_migration(&dir, "again")
        .unwrap();
    let subdir = match DB::DIALECT {
        Dialect::Sqlite => "sqlite",
        Dialect::Postgres => "postgres",
        Dialect::MySql => "mysql",
    };
    assert!(first.contains(&dir.join(subdir).join("0001_create_tables.sql")));
    assert!(second.contains(&dir.join(subdir).join("0002_again.sql")));
    assert_eq!(
        std::fs::read_to_string(dir.join(subdir).join("0001_create_tables.sql")).unwrap(),
        schema().to_sql(DB::DIALECT)
    );

    let migrator = sqlx::migrate::Migrator::new(dir.join(subdir))
        .await
        .unwrap();
    assert_eq!(migrator.iter().count(), 2);
    migrator.run(&db.pool).await.unwrap();
    migrator.run(&db.pool).await.unwrap();
    assert_eq!(db.count("_sqlx_migrations").await, 2);
    let mut stored = author("migrated", "m@example.com");
    stored.insert(&db.pool).await.unwrap();
    assert_eq!(Author::all(&db.pool).await.unwrap(), [stored]);
    assert_eq!(
        describe(db, "authors").await[1],
        declared("name", false, Some(40), false, false)
    );
    // A name that is not a plain file name is refused, and nothing is written.
    for bad in ["", "../up", "a\\b", "v2.sql"] {
        let error = schema().write_migration(&dir, bad).unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput, "{bad:?}");
    }
    assert_eq!(std::fs::read_dir(dir.join(subdir)).unwrap().count(), 2);
    let _ = std::fs::remove_dir_all(&dir);
}

async fn a_composite_key_is_the_tables_primary_key<DB: TestBackend>(db: &TestDb<DB>) {
    TagLink::create_table(&db.pool).await.unwrap();
    let link = |author_id: i64, tag: &str| TagLink {
        author_id,
        tag: tag.into(),
        note: None,
    };
    link(1, "rust").insert(&db.pool).await.unwrap();
    link(1, "go").insert(&db.pool).await.unwrap();
    link(2, "rust").insert(&db.pool).await.unwrap();
    let error = link(1, "rust").insert(&db.pool).await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::Constraint {
                kind: ConstraintKind::Unique,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(db.count("tag_links").await, 3);
    let tag_chars = (DB::DIALECT == Dialect::MySql).then_some(255);
    let described = describe(db, "tag_links").await;
    assert_eq!(
        described
            .iter()
            .map(|c| (&c.name[..], c.nullable, c.max_chars))
            .collect::<Vec<_>>(),
        [
            ("author_id", false, None),
            ("tag", false, tag_chars),
            ("note", true, Some(8))
        ]
    );
}

per_backend!(
    tables_created_from_models_hold_what_the_models_declare,
    a_composite_key_is_the_tables_primary_key,
    a_declared_default_is_the_columns_default,
    a_value_longer_than_its_length_is_refused_and_nothing_written,
    a_unique_column_refuses_a_second_equal_value,
    small_and_binary_keys_round_trip,
    a_broken_not_null_or_check_constraint_is_a_typed_error,
    create_all_leaves_existing_tables_and_rows_alone,
    migration_files_run_through_sqlx_migrator;
    file: concurrent_create_all_calls_all_succeed,
);

/// MySQL/MariaDB: a `CREATE TABLE IF NOT EXISTS` that waits out its lock wait timeout (here
/// behind another session's `LOCK TABLES ... WRITE`, held 1.5 s; the pool's sessions wait 1 s)
/// fails with 1205, which the server asks to retry: `create_all` runs it again, and succeeds
/// once the lock is gone. (The same path takes a Galera cluster's deadlock between two
/// replicas' `CREATE`s, which cannot be caused on demand; on a Galera node the `CREATE`
/// instead waits for the lock, and the call succeeds all the same.)
#[tokio::test]
async fn mysql_create_all_runs_a_create_again_after_a_lock_wait_timeout() {
    use sqlx::{Connection as _, Executor as _};
    let Some(db) = <sqlx::MySql as TestBackend>::fresh(concat!(
        module_path!(),
        "::mysql_create_all_runs_a_create_again_after_a_lock_wait_timeout"
    ))
    .await
    else {
        return;
    };
    schema().create_all(&db.pool).await.unwrap();
    let impatient = db
        .pool_with_session("SET SESSION lock_wait_timeout = 1")
        .await;
    let mut locker = sqlx::MySqlConnection::connect_with(&db.mysql_options())
        .await
        .unwrap();
    locker.execute("LOCK TABLES authors WRITE").await.unwrap();
    let started = std::time::Instant::now();
    let create = tokio::spawn({
        let pool = impatient.clone();
        async move { schema().create_all(&pool).await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    locker.execute("UNLOCK TABLES").await.unwrap();
    create
        .await
        .unwrap()
        .expect("create_all runs the timed-out CREATE again and succeeds");
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(1500),
        "create_all waited for the lock: {:?}",
        started.elapsed()
    );
    author("after", "after@example.com")
        .insert(&impatient)
        .await
        .unwrap();
    assert_eq!(db.count("authors").await, 1);
    locker.close().await.unwrap();
    impatient.close().await;
    db.finish().await;
}

/// What each dialect declares, for the README's table: checked here so that it cannot drift.
#[test]
fn the_sql_of_a_model_names_each_dialects_types() {
    let sql = Schema::new().model::<Note>().sql(Dialect::Postgres);
    assert_eq!(
        sql,
        ["CREATE TABLE IF NOT EXISTS \"notes\" (\n    \
          \"id\" INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,\n    \
          \"text\" TEXT NOT NULL\n)"]
    );
    let sqlite = Schema::new().model::<Author>().sql(Dialect::Sqlite);
    assert_eq!(sqlite.len(), 2, "the table and the index of `joined`");
    assert!(sqlite[0].contains("\"name\" VARCHAR(40) NOT NULL CHECK (length(\"name\") <= 40),"));
    let mysql = Schema::new().model::<Author>().sql(Dialect::MySql);
    assert_eq!(mysql.len(), 1, "MySQL's index is part of the table");
    for part in [
        "`email` VARCHAR(255) NOT NULL UNIQUE,",
        "`avatar` LONGBLOB,",
        "`visits` BIGINT NOT NULL DEFAULT 0,",
        "`seen_at` DATETIME(6)",
        "INDEX `authors_joined_idx` (`joined`)",
    ] {
        assert!(mysql[0].contains(part), "{part} in {}", mysql[0]);
    }
}
