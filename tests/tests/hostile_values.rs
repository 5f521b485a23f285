//! Hostile and extreme values on SQLite, PostgreSQL and MySQL: each round-trips exactly or
//! fails with a typed error, without a panic and without a partial write. Values are bound,
//! never spliced into SQL, so SQL-looking text is just text.

use chrono::{DateTime, NaiveDate, Utc};
use model_core::{Dialect, Error, Model};
use model_tests::{per_backend, Col, TestBackend, TestDb};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

#[derive(Debug, Clone, PartialEq, Model)]
#[model(table = "values")]
struct Value {
    id: Option<i64>,
    text: String,
    number: i64,
    real: f64,
    bytes: Vec<u8>,
    at: Option<DateTime<Utc>>,
    day: Option<NaiveDate>,
}

fn value(text: &str) -> Value {
    Value {
        id: None,
        text: text.into(),
        number: 0,
        real: 0.0,
        bytes: Vec::new(),
        at: None,
        day: None,
    }
}

async fn schema<DB: TestBackend>(db: &TestDb<DB>) {
    // Hand-written: `real` and `bytes` stay nullable, so a NULL can be read into `Value`.
    db.create_table(
        "values",
        &[
            ("id", Col::Serial),
            ("text", Col::TextNotNull),
            ("number", Col::BigIntNotNull),
            ("real", Col::Double),
            ("bytes", Col::Blob),
            ("at", Col::Timestamp),
            ("day", Col::Date),
        ],
    )
    .await;
}

/// Text that tries to break out of a string literal, an identifier or a statement.
fn hostile_text() -> impl Strategy<Value = String> {
    prop_oneof![
        // Any Unicode except NUL (refused by PostgreSQL; tested on its own below).
        "[^\u{0}]{0,200}",
        "['\"`\\\\;%_ -]{0,40}",
        Just("'; DROP TABLE \"values\"; --".to_owned()),
        Just("\" OR 1=1 --".to_owned()),
        Just("`) ; DELETE FROM `values`; #".to_owned()),
        Just("$1 ? ?1 :name @p1".to_owned()),
        Just("🦀👩‍👩‍👧‍👦 \u{202e}rtl\u{200b}".to_owned()),
    ]
}

async fn arbitrary_values_round_trip_exactly<DB: TestBackend>(db: &TestDb<DB>) {
    schema(db).await;
    let handle = tokio::runtime::Handle::current();
    let mut runner = TestRunner::new(Config {
        cases: 48,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (
        hostile_text(),
        any::<i64>(),
        any::<f64>().prop_filter("finite", |f| f.is_finite()),
        proptest::collection::vec(any::<u8>(), 0..300),
    );
    let result = tokio::task::block_in_place(|| {
        runner.run(&strategy, |(text, number, real, bytes)| {
            handle.block_on(async {
                let mut stored = Value {
                    text,
                    number,
                    real,
                    bytes,
                    ..value("")
                };
                stored
                    .insert(&db.pool)
                    .await
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                let back = Value::get(&db.pool, stored.id.unwrap())
                    .await
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(back, stored);
                Ok(())
            })
        })
    });
    result.unwrap();
    // SQL-looking values did nothing but be stored.
    assert_eq!(db.count("values").await, 48);
}

async fn extreme_values_round_trip_or_fail_typed<DB: TestBackend>(db: &TestDb<DB>) {
    schema(db).await;
    // Integers at the edges, empty text and bytes.
    for number in [i64::MIN, i64::MAX, 0, -1] {
        let mut row = Value {
            number,
            ..value("")
        };
        row.insert(&db.pool).await.unwrap();
        assert_eq!(Value::get(&db.pool, row.id.unwrap()).await.unwrap(), row);
    }

    // NUL inside text: SQLite and MySQL store it; PostgreSQL's text cannot hold it, so it
    // is refused before sending.
    let mut nul = value("a\0b");
    let result = nul.insert(&db.pool).await;
    match DB::DIALECT {
        Dialect::Postgres => {
            assert!(
                matches!(result, Err(Error::Value { column: "text", .. })),
                "{result:?}"
            );
            assert_eq!(nul.id, None);
        }
        Dialect::Sqlite | Dialect::MySql => {
            result.unwrap();
            assert_eq!(
                Value::get(&db.pool, nul.id.unwrap()).await.unwrap().text,
                "a\0b"
            );
        }
    }

    // NaN and infinities: PostgreSQL stores them; MySQL has neither, SQLite has no NaN (it
    // would store NULL): those are refused before any SQL is sent, whatever the sql_mode.
    for real in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let before = db.count("values").await;
        let mut row = Value {
            real,
            ..value("float")
        };
        let result = row.insert(&db.pool).await;
        match (DB::DIALECT, result) {
            (Dialect::Postgres, Ok(())) => {
                let back = Value::get(&db.pool, row.id.unwrap()).await.unwrap().real;
                assert!(back == real || (back.is_nan() && real.is_nan()));
            }
            (Dialect::Sqlite, Ok(())) if real.is_infinite() => {
                assert_eq!(
                    Value::get(&db.pool, row.id.unwrap()).await.unwrap().real,
                    real
                );
            }
            (Dialect::Sqlite, Err(Error::Value { column, .. })) if real.is_nan() => {
                assert_eq!(column, "real");
                assert_eq!(db.count("values").await, before, "nothing written");
            }
            (Dialect::MySql, Err(Error::Value { column, .. })) => {
                assert_eq!(column, "real");
                assert_eq!(
                    db.count("values").await,
                    before,
                    "no row for a refused value"
                );
            }
            (dialect, other) => panic!("{dialect:?}: unexpected {other:?} for {real}"),
        }
    }

    // NULL where the model has no Option: a typed error on load, never a made-up 0.0
    // (sqlx's SQLite driver decodes NULL as 0.0 on its own).
    db.exec(&format!(
        "INSERT INTO {} ({}, {}, {}) VALUES ('null real', 0, NULL)",
        db.quote("values"),
        db.quote("text"),
        db.quote("number"),
        db.quote("real"),
    ))
    .await;
    let loaded = Value::all(&db.pool).await;
    assert!(matches!(loaded, Err(Error::Database { .. })), "{loaded:?}");
    db.exec(&format!(
        "DELETE FROM {} WHERE {} = 'null real'",
        db.quote("values"),
        db.quote("text")
    ))
    .await;

    // Dates at the edges of what every backend stores. 2038-01-19 03:14:08 is one second
    // past MySQL's TIMESTAMP range: MariaDB stored it as NULL until model-core sent
    // `DateTime<Utc>` as a DATETIME.
    for (at, day) in [
        (
            "0001-01-01T00:00:00Z",
            NaiveDate::from_ymd_opt(1, 1, 1).unwrap(),
        ),
        (
            "1000-01-01T00:00:00Z",
            NaiveDate::from_ymd_opt(1000, 1, 1).unwrap(),
        ),
        (
            "2038-01-19T03:14:08Z",
            NaiveDate::from_ymd_opt(2038, 1, 19).unwrap(),
        ),
        (
            "9999-12-31T23:59:59.999999Z",
            NaiveDate::from_ymd_opt(9999, 12, 31).unwrap(),
        ),
    ] {
        let mut row = Value {
            at: Some(at.parse().unwrap()),
            day: Some(day),
            ..value("date")
        };
        row.insert(&db.pool).await.unwrap();
        assert_eq!(Value::get(&db.pool, row.id.unwrap()).await.unwrap(), row);
    }
    // Beyond some backend's range: year 10000 does not fit MySQL's DATE.
    let mut far = Value {
        day: NaiveDate::from_ymd_opt(10_000, 1, 1),
        ..value("far")
    };
    match (DB::DIALECT, far.insert(&db.pool).await) {
        (Dialect::MySql, Err(Error::Value { column, .. })) => {
            assert_eq!(column, "day");
            assert_eq!(far.id, None, "nothing written");
        }
        (_, result) => {
            result.unwrap();
            assert_eq!(
                Value::get(&db.pool, far.id.unwrap()).await.unwrap().day,
                far.day
            );
        }
    }
}

async fn ten_megabyte_text_and_blob_round_trip<DB: TestBackend>(db: &TestDb<DB>) {
    schema(db).await;
    // One 10 MB value per row: MariaDB's default max_allowed_packet (16 MB) bounds a statement.
    let text: String = "0123456789abcdé🦀"
        .chars()
        .cycle()
        .take(10 * 1024 * 1024 * 16 / 19)
        .collect();
    assert!(text.len() >= 10 * 1000 * 1000);
    let bytes: Vec<u8> = (0..10 * 1024 * 1024)
        .map(|i: u32| (i % 251) as u8)
        .collect();
    for row in [
        Value {
            text: text.clone(),
            ..value("")
        },
        Value {
            bytes: bytes.clone(),
            ..value("blob")
        },
    ] {
        let mut row = row;
        row.insert(&db.pool).await.unwrap();
        let back = Value::get(&db.pool, row.id.unwrap()).await.unwrap();
        assert!(back == row, "a 10 MB value came back different");
    }
}

per_backend!(
    arbitrary_values_round_trip_exactly,
    extreme_values_round_trip_or_fail_typed,
    ten_megabyte_text_and_blob_round_trip,
);
