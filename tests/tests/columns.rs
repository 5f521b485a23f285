//! Keys, constraints, odd names and every column type, round-tripped on SQLite, PostgreSQL
//! and MySQL.
//!
//! Precision per backend, as asserted below:
//!
//! | type | SQLite | PostgreSQL | MySQL/MariaDB (`DATETIME(6)`) |
//! |---|---|---|---|
//! | `DateTime<Utc>` | exact to the nanosecond (RFC 3339 text) | microseconds (`TIMESTAMPTZ`) | microseconds, zone dropped (stored as UTC) |
//! | `NaiveDateTime` | exact to the nanosecond | microseconds | microseconds |
//! | `f32`/`f64` | exact (REAL is 8 bytes) | exact (`REAL`/`DOUBLE PRECISION`) | exact (`FLOAT`/`DOUBLE`) |
//!
//! Sub-microsecond digits are truncated (not rounded) by PostgreSQL and MariaDB.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc};
use model_core::schema::Schema;
use model_core::{ConstraintKind, Dialect, Error, Model};
use model_tests::{per_backend, Col, TestBackend, TestDb};

#[derive(Debug, Clone, PartialEq, Model)]
#[model(table = "all_types")]
struct AllTypes {
    #[model(primary_key)]
    key: Option<i32>,
    small: i16,
    int: i32,
    big: i64,
    float: f32,
    double: f64,
    flag: bool,
    text: String,
    bytes: Vec<u8>,
    at: DateTime<Utc>,
    naive: NaiveDateTime,
    day: NaiveDate,
    maybe_big: Option<i64>,
    maybe_text: Option<String>,
    maybe_bytes: Option<Vec<u8>>,
    maybe_at: Option<DateTime<Utc>>,
    maybe_flag: Option<bool>,
    maybe_double: Option<f64>,
}

async fn all_types_table<DB: TestBackend>(db: &TestDb<DB>) {
    AllTypes::create_table(&db.pool).await.unwrap();
}

fn extremes(n: i32) -> AllTypes {
    let at = Utc
        .with_ymd_and_hms(2024, 2, 29, 23, 59, 58)
        .unwrap()
        .with_nanosecond(123_456_000)
        .unwrap();
    AllTypes {
        key: None,
        small: if n == 0 { i16::MIN } else { i16::MAX },
        int: if n == 0 { i32::MIN } else { i32::MAX },
        big: if n == 0 { i64::MIN } else { i64::MAX },
        float: 1.5e-3,
        double: -123_456.789_012_345_6,
        flag: n == 0,
        text: "héllo \"quoted\" 'single' `tick` \\ 🦀 — 日本語".into(),
        bytes: (0..=255).collect(),
        at,
        naive: NaiveDate::from_ymd_opt(1999, 12, 31)
            .unwrap()
            .and_hms_micro_opt(23, 59, 59, 999_999)
            .unwrap(),
        day: NaiveDate::from_ymd_opt(2000, 1, 1).unwrap(),
        maybe_big: if n == 0 { None } else { Some(0) },
        maybe_text: if n == 0 { None } else { Some(String::new()) },
        maybe_bytes: if n == 0 { None } else { Some(Vec::new()) },
        maybe_at: if n == 0 { None } else { Some(at) },
        maybe_flag: if n == 0 { None } else { Some(false) },
        maybe_double: if n == 0 {
            None
        } else {
            Some(f64::MIN_POSITIVE)
        },
    }
}

async fn every_column_type_round_trips_exactly<DB: TestBackend>(db: &TestDb<DB>) {
    all_types_table(db).await;
    for n in 0..2 {
        let mut value = extremes(n);
        value.insert(&db.pool).await.unwrap();
        let key = value.key.expect("an Option<i32> key is generated");
        let stored = AllTypes::get(&db.pool, key).await.unwrap();
        assert_eq!(stored, value, "round trip #{n}");
    }
}

async fn sub_microsecond_time_is_truncated_where_the_backend_stores_microseconds<
    DB: TestBackend,
>(
    db: &TestDb<DB>,
) {
    all_types_table(db).await;
    let mut value = extremes(1);
    value.at = value.at.with_nanosecond(123_456_789).unwrap();
    value.insert(&db.pool).await.unwrap();
    let stored = AllTypes::get(&db.pool, value.key.unwrap()).await.unwrap();
    let expected = match db.dialect() {
        Dialect::Sqlite => 123_456_789,
        Dialect::Postgres | Dialect::MySql => 123_456_000,
    };
    assert_eq!(stored.at.nanosecond(), expected);
}

#[derive(Debug, Clone, PartialEq, Model)]
#[model(table = "countries")]
struct Country {
    #[model(primary_key)]
    code: String,
    name: String,
}

async fn explicit_and_natural_keys_are_used_as_given<DB: TestBackend>(db: &TestDb<DB>) {
    Country::create_table(&db.pool).await.unwrap();
    let mut fr = Country {
        code: "FR".into(),
        name: "France".into(),
    };
    fr.insert(&db.pool).await.unwrap();
    fr.name = "République française".into();
    fr.update(&db.pool).await.unwrap();
    assert_eq!(Country::get(&db.pool, "FR".into()).await.unwrap(), fr);

    all_types_table(db).await;
    let mut chosen = extremes(1);
    chosen.key = Some(77);
    chosen.insert(&db.pool).await.unwrap();
    assert_eq!(chosen.key, Some(77));
    assert_eq!(AllTypes::get(&db.pool, 77).await.unwrap(), chosen);
}

#[derive(Debug, Clone, Model)]
#[model(table = "parents")]
struct Parent {
    id: Option<i64>,
    #[model(column = "name", unique)]
    label: String,
}

#[derive(Debug, Clone, Model)]
#[model(table = "children")]
struct Child {
    id: Option<i64>,
    parent_id: i64,
    nickname: Option<String>,
    qty: i32,
}

async fn constraint_violations_are_typed_on_every_backend<DB: TestBackend>(db: &TestDb<DB>) {
    Parent::create_table(&db.pool).await.unwrap();
    let parents_id = db.quote("id");
    // Hand-written: its foreign key, CHECK and NOT NULL are the violations under test.
    db.create_table_with(
        "children",
        &[
            ("id", Col::Serial),
            ("parent_id", Col::BigIntNotNull),
            ("nickname", Col::TextNotNull),
            ("qty", Col::Int),
        ],
        &[
            &format!(
                "FOREIGN KEY ({}) REFERENCES {} ({parents_id})",
                db.quote("parent_id"),
                db.quote("parents")
            ),
            &format!("CHECK ({} >= 0)", db.quote("qty")),
        ],
    )
    .await;
    let mut parent = Parent {
        id: None,
        label: "p".into(),
    };
    parent.insert(&db.pool).await.unwrap();

    let kind = |result: Result<(), Error>| match result {
        Err(Error::Constraint { kind, model, .. }) => (model, kind),
        other => panic!("expected a constraint violation, got {other:?}"),
    };
    assert_eq!(
        kind(
            Parent {
                id: None,
                label: "p".into()
            }
            .insert(&db.pool)
            .await
        ),
        ("Parent", ConstraintKind::Unique)
    );
    let child = |parent_id, nickname: Option<&str>, qty| Child {
        id: None,
        parent_id,
        nickname: nickname.map(Into::into),
        qty,
    };
    assert_eq!(
        kind(child(parent.id.unwrap(), None, 1).insert(&db.pool).await),
        ("Child", ConstraintKind::NotNull)
    );
    assert_eq!(
        kind(child(999_999, Some("x"), 1).insert(&db.pool).await),
        ("Child", ConstraintKind::ForeignKey)
    );
    assert_eq!(
        kind(
            child(parent.id.unwrap(), Some("x"), -1)
                .insert(&db.pool)
                .await
        ),
        ("Child", ConstraintKind::Check)
    );
    let mut ok = child(parent.id.unwrap(), Some("x"), 1);
    ok.insert(&db.pool).await.unwrap();
    assert_eq!(
        kind(parent.delete(&db.pool).await),
        ("Parent", ConstraintKind::ForeignKey)
    );
    assert_eq!(db.count("children").await, 1);
    assert_eq!(db.count("parents").await, 1);
}

/// SQL keywords and quote characters as names: every identifier is quoted for its backend.
#[derive(Debug, Clone, PartialEq, Model)]
#[model(table = "order")]
struct Order {
    #[model(column = "select")]
    id: Option<i64>,
    from: String,
    r#type: String,
    group: i32,
    #[model(column = "we\"ird`na'me")]
    weird: String,
}

#[derive(Debug, Clone, PartialEq, Model)]
struct User {
    id: Option<i64>,
    r#where: Option<String>,
}

async fn keywords_and_quote_characters_work_as_names<DB: TestBackend>(db: &TestDb<DB>) {
    Schema::new()
        .model::<Order>()
        .model::<User>()
        .create_all(&db.pool)
        .await
        .unwrap();
    let mut order = Order {
        id: None,
        from: "a".into(),
        r#type: "b".into(),
        group: 3,
        weird: "c".into(),
    };
    order.insert(&db.pool).await.unwrap();
    order.r#type = "changed".into();
    order.update(&db.pool).await.unwrap();
    assert_eq!(
        Order::get(&db.pool, order.id.unwrap()).await.unwrap(),
        order
    );
    assert_eq!(
        Order::COLUMNS,
        ["select", "from", "type", "group", "we\"ird`na'me"]
    );
    order.delete(&db.pool).await.unwrap();
    assert_eq!(db.count("order").await, 0);

    assert_eq!(User::TABLE, "user");
    let mut user = User {
        id: None,
        r#where: Some("here".into()),
    };
    user.insert(&db.pool).await.unwrap();
    assert_eq!(User::all(&db.pool).await.unwrap(), [user]);
}

per_backend!(
    every_column_type_round_trips_exactly,
    sub_microsecond_time_is_truncated_where_the_backend_stores_microseconds,
    explicit_and_natural_keys_are_used_as_given,
    constraint_violations_are_typed_on_every_backend,
    keywords_and_quote_characters_work_as_names,
);
