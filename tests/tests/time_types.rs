//! The `time` crate's column types (model-core's feature `time`) on SQLite, PostgreSQL and
//! MySQL: `OffsetDateTime`, `PrimitiveDateTime` and `Date` round-trip at the edges of every
//! backend's range, are normalised to UTC and truncated to what is stored, sort and filter
//! by instant, are stored as chrono's types are, and what a backend cannot store is refused
//! with `Error::Value` before any SQL.
//!
//! `time`'s `OffsetDateTime` compares by instant (`==` ignores the offset), so the offsets
//! are checked on their own.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use model_core::sqlx::types::time::{Date, OffsetDateTime, PrimitiveDateTime, UtcOffset};
use model_core::{Dialect, Error, Model};
use model_tests::{per_backend, TestBackend, TestDb};
use time::macros::{date, datetime};
use time::Month;

#[derive(Debug, Clone, PartialEq, Model)]
#[model(table = "moments")]
struct Moment {
    id: Option<i64>,
    at: OffsetDateTime,
    local: PrimitiveDateTime,
    day: Date,
    maybe_at: Option<OffsetDateTime>,
    maybe_local: Option<PrimitiveDateTime>,
    maybe_day: Option<Date>,
}

/// The same table through chrono's types.
#[derive(Debug, Clone, PartialEq, Model)]
#[model(table = "moments")]
struct ChronoMoment {
    id: Option<i64>,
    at: DateTime<Utc>,
    local: NaiveDateTime,
    day: NaiveDate,
    maybe_at: Option<DateTime<Utc>>,
    maybe_local: Option<NaiveDateTime>,
    maybe_day: Option<NaiveDate>,
}

fn moment(at: OffsetDateTime) -> Moment {
    Moment {
        id: None,
        at,
        local: PrimitiveDateTime::new(at.date(), at.time()),
        day: at.date(),
        maybe_at: None,
        maybe_local: None,
        maybe_day: None,
    }
}

/// Every field set: the optional ones to the same values as the others.
fn full(at: OffsetDateTime) -> Moment {
    let m = moment(at);
    Moment {
        maybe_at: Some(m.at),
        maybe_local: Some(m.local),
        maybe_day: Some(m.day),
        ..m
    }
}

fn ymd(year: i32, month: Month, day: u8) -> Date {
    Date::from_calendar_date(year, month, day).unwrap()
}

/// Equal as `time` compares them, and with the same offsets: every read value is UTC.
#[track_caller]
fn assert_same(read: &Moment, expected: &Moment) {
    assert_eq!(read, expected);
    assert_eq!(read.at.offset(), UtcOffset::UTC, "{read:?}");
    assert_eq!(expected.at.offset(), UtcOffset::UTC, "{expected:?}");
    if let (Some(r), Some(e)) = (read.maybe_at, expected.maybe_at) {
        assert_eq!((r.offset(), e.offset()), (UtcOffset::UTC, UtcOffset::UTC));
    }
}

/// `column` of row `id` as the database shows it in text: on PostgreSQL a `TIMESTAMPTZ` in
/// UTC whatever the session's time zone.
async fn stored_text<DB: TestBackend>(db: &TestDb<DB>, column: &str, id: i64) -> String {
    let expr = match DB::DIALECT {
        Dialect::Sqlite => format!("{column} || ''"),
        Dialect::Postgres if column.ends_with("at") => {
            format!("to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')")
        }
        Dialect::Postgres => format!("CAST({column} AS TEXT)"),
        Dialect::MySql => format!("CAST({column} AS CHAR)"),
    };
    let sql = format!("SELECT {expr} FROM moments WHERE id = {id}");
    db.scalar::<String>(&sql).await
}

async fn the_extremes_round_trip<DB: TestBackend>(db: &TestDb<DB>) {
    Moment::create_table(&db.pool).await.unwrap();
    let cases = [
        datetime!(0001-01-01 00:00:00 UTC),
        datetime!(1000-01-01 00:00:00 UTC),
        // One second past MySQL's TIMESTAMP range, where MariaDB would store NULL.
        datetime!(2038-01-19 03:14:08 UTC),
        datetime!(2024-02-29 12:00:00.5 UTC),
        datetime!(9999-12-31 23:59:59.999_999 UTC),
    ];
    for at in cases {
        for mut row in [moment(at), full(at)] {
            row.insert(&db.pool).await.unwrap();
            let read = Moment::get(&db.pool, row.id.unwrap()).await.unwrap();
            assert_same(&read, &row);
            assert_eq!(
                read.at, at,
                "the value itself, not only what the model became"
            );
            assert_eq!(read.local, PrimitiveDateTime::new(at.date(), at.time()));
            assert_eq!(read.day, at.date());
            let has_options = row.maybe_at.is_some();
            assert_eq!(read.maybe_at, has_options.then_some(at));
            assert_eq!(read.maybe_day, has_options.then_some(at.date()));
        }
    }
    assert_eq!(db.count("moments").await, 10);

    // None reads back as None, and a field set back to None is NULL again.
    let mut row = full(datetime!(2024-06-30 12:00:00 UTC));
    row.insert(&db.pool).await.unwrap();
    row.maybe_at = None;
    row.maybe_local = None;
    row.maybe_day = None;
    row.update(&db.pool).await.unwrap();
    let read = Moment::get(&db.pool, row.id.unwrap()).await.unwrap();
    assert_eq!(
        (read.maybe_at, read.maybe_local, read.maybe_day),
        (None, None, None)
    );
    let nulls = format!(
        "SELECT COUNT(*) FROM moments WHERE id = {} AND maybe_at IS NULL \
         AND maybe_local IS NULL AND maybe_day IS NULL",
        row.id.unwrap()
    );
    assert_eq!(db.scalar::<i64>(&nulls).await, 1);
}

async fn an_offset_comes_back_as_the_same_instant_in_utc<DB: TestBackend>(db: &TestDb<DB>) {
    Moment::create_table(&db.pool).await.unwrap();
    let at = datetime!(2024-06-30 23:30:00.25 +05:45);
    let mut row = Moment {
        maybe_at: Some(datetime!(2000-01-01 00:00:00 -09:30)),
        ..moment(at)
    };
    row.insert(&db.pool).await.unwrap();
    // The model holds what was stored: the instant in UTC.
    assert_eq!(row.at.offset(), UtcOffset::UTC);
    assert_eq!(
        (row.at.date(), row.at.time()),
        (date!(2024 - 06 - 30), time::macros::time!(17:45:00.25))
    );
    assert_eq!(row.maybe_at, Some(datetime!(2000-01-01 09:30:00 UTC)));
    assert_eq!(row.maybe_at.unwrap().offset(), UtcOffset::UTC);
    let read = Moment::get(&db.pool, row.id.unwrap()).await.unwrap();
    assert_same(&read, &row);
    assert_eq!(read.at, at, "the same instant");

    // Each backend holds the UTC wall time.
    let id = row.id.unwrap();
    let expected = match DB::DIALECT {
        Dialect::Sqlite => "2024-06-30T17:45:00.250+00:00",
        Dialect::Postgres => "2024-06-30 17:45:00.250000",
        Dialect::MySql => "2024-06-30 17:45:00.250000",
    };
    assert_eq!(stored_text(db, "at", id).await, expected);

    // Near year 1, the UTC date can be in year 0, which MySQL cannot store.
    let mut early = moment(datetime!(0001-01-01 00:30:00 +01:00));
    early.local = datetime!(0001-01-01 00:00:00);
    early.day = date!(0001 - 01 - 01);
    match (DB::DIALECT, early.insert(&db.pool).await) {
        (Dialect::MySql, Err(Error::Value { model, column, .. })) => {
            assert_eq!((model, column), ("Moment", "at"));
            assert_eq!(early.id, None);
        }
        (_, result) => {
            result.unwrap();
            let read = Moment::get(&db.pool, early.id.unwrap()).await.unwrap();
            assert_same(&read, &early);
            assert_eq!(read.at.year(), 0);
        }
    }
    let expected = if DB::DIALECT == Dialect::MySql { 1 } else { 2 };
    assert_eq!(db.count("moments").await, expected);
}

async fn nanoseconds_become_what_is_stored<DB: TestBackend>(db: &TestDb<DB>) {
    Moment::create_table(&db.pool).await.unwrap();
    let at = datetime!(2024-01-01 23:59:59.123_456_789 UTC);
    let mut row = full(at);
    row.insert(&db.pool).await.unwrap();
    let kept = match DB::DIALECT {
        Dialect::Sqlite => at,
        Dialect::Postgres | Dialect::MySql => datetime!(2024-01-01 23:59:59.123_456 UTC),
    };
    // `==` on OffsetDateTime is by instant; nanoseconds are part of it.
    assert_eq!(row.at.nanosecond(), kept.nanosecond());
    assert_eq!(row.at, kept);
    assert_eq!(row.local, PrimitiveDateTime::new(kept.date(), kept.time()));
    assert_eq!(row.maybe_at, Some(kept));
    assert_eq!(row.maybe_local, Some(row.local));
    assert_same(&Moment::get(&db.pool, row.id.unwrap()).await.unwrap(), &row);

    let next = datetime!(2024-12-31 23:59:59.999_999_999 +00:00);
    row.at = next;
    row.local = PrimitiveDateTime::new(next.date(), next.time());
    row.maybe_at = Some(next);
    row.maybe_local = Some(row.local);
    row.update(&db.pool).await.unwrap();
    let kept = match DB::DIALECT {
        Dialect::Sqlite => next,
        Dialect::Postgres | Dialect::MySql => datetime!(2024-12-31 23:59:59.999_999 UTC),
    };
    assert_eq!(row.at, kept);
    assert_eq!(row.local.nanosecond(), kept.nanosecond());
    assert_eq!(row.maybe_at, Some(kept));
    assert_eq!(row.maybe_local, Some(row.local));
    assert_same(&Moment::get(&db.pool, row.id.unwrap()).await.unwrap(), &row);
}

/// Each field given a value out of this backend's range, one at a time; the reason named.
async fn refusals<DB: TestBackend>(db: &TestDb<DB>, cases: &[(&'static str, Moment)]) {
    let fine = moment(datetime!(2024-01-01 00:00:00 UTC));
    let mut stored = fine.clone();
    stored.insert(&db.pool).await.unwrap();
    for (column, bad) in cases {
        let mut row = bad.clone();
        match row.insert(&db.pool).await {
            Err(Error::Value {
                model,
                column: refused,
                reason,
            }) => {
                assert_eq!((model, refused), ("Moment", *column), "{bad:?}");
                assert!(!reason.is_empty());
            }
            other => panic!("{bad:?} inserted: {other:?}"),
        }
        assert_eq!(row.id, None, "{bad:?}");
        assert_eq!(db.count("moments").await, 1, "{bad:?}: nothing written");

        let mut update = Moment {
            id: stored.id,
            ..bad.clone()
        };
        match update.update(&db.pool).await {
            Err(Error::Value {
                model,
                column: refused,
                ..
            }) => assert_eq!((model, refused), ("Moment", *column), "{bad:?}"),
            other => panic!("{bad:?} updated: {other:?}"),
        }
        let read = Moment::get(&db.pool, stored.id.unwrap()).await.unwrap();
        assert_same(&read, &stored);
    }
    assert_eq!(db.count("moments").await, 1);
}

/// One bad value in one field, the other fields fine.
fn bad(column: &'static str, day: Date) -> (&'static str, Moment) {
    let fine = moment(datetime!(2024-01-01 00:00:00 UTC));
    let at = day.midnight();
    let row = match column {
        "at" => Moment {
            at: at.assume_utc(),
            ..fine
        },
        "local" => Moment { local: at, ..fine },
        "day" => Moment { day, ..fine },
        "maybe_at" => Moment {
            maybe_at: Some(at.assume_utc()),
            ..fine
        },
        "maybe_local" => Moment {
            maybe_local: Some(at),
            ..fine
        },
        "maybe_day" => Moment {
            maybe_day: Some(day),
            ..fine
        },
        _ => unreachable!(),
    };
    (column, row)
}

const COLUMNS: [&str; 6] = ["at", "local", "day", "maybe_at", "maybe_local", "maybe_day"];

async fn what_a_backend_cannot_store_is_refused<DB: TestBackend>(db: &TestDb<DB>) {
    Moment::create_table(&db.pool).await.unwrap();
    // Year 10000 is past `time`'s own range (without its `large-dates`): no such value.
    assert!(Date::from_calendar_date(10_000, Month::January, 1).is_err());

    let mut cases = Vec::new();
    // Refused everywhere: the UTC time of the last moment at -01:00 is past `time`'s range.
    let past_utc = datetime!(9999-12-31 23:59:59 -01:00);
    cases.push((
        "at",
        Moment {
            at: past_utc,
            ..moment(datetime!(2024-01-01 00:00:00 UTC))
        },
    ));
    cases.push((
        "maybe_at",
        Moment {
            maybe_at: Some(past_utc),
            ..moment(datetime!(2024-01-01 00:00:00 UTC))
        },
    ));
    // The first day `time` holds: before every backend's range.
    cases.extend(COLUMNS.map(|c| bad(c, Date::MIN)));
    match DB::DIALECT {
        // Years 1 to 9999.
        Dialect::MySql => {
            cases.extend(COLUMNS.map(|c| bad(c, ymd(0, Month::December, 31))));
            cases.extend(COLUMNS.map(|c| bad(c, ymd(-1, Month::January, 1))));
        }
        // Negative years do not sort as text.
        Dialect::Sqlite => cases.extend(COLUMNS.map(|c| bad(c, ymd(-1, Month::December, 31)))),
        // PostgreSQL's first day is 24 November 4714 BC.
        Dialect::Postgres => cases.extend(COLUMNS.map(|c| bad(c, ymd(-4713, Month::November, 23)))),
    }
    refusals(db, &cases).await;

    // The first days each backend stores.
    let first = match DB::DIALECT {
        Dialect::MySql => ymd(1, Month::January, 1),
        Dialect::Sqlite => ymd(0, Month::January, 1),
        Dialect::Postgres => ymd(-4713, Month::November, 24),
    };
    let mut row = full(first.midnight().assume_utc());
    row.insert(&db.pool).await.unwrap();
    assert_same(&Moment::get(&db.pool, row.id.unwrap()).await.unwrap(), &row);
    assert_eq!(row.day, first);
    if DB::DIALECT == Dialect::Postgres {
        let sql = format!(
            "SELECT CAST(day AS TEXT) FROM moments WHERE id = {}",
            row.id.unwrap()
        );
        assert_eq!(db.scalar::<String>(&sql).await, "4714-11-24 BC");
    }
}

/// Rows written with different offsets, some of the same second with and without a
/// fraction (where sqlx's own SQLite text, `...:00Z` and `...:00.5Z`, sorts wrongly).
fn instants() -> Vec<OffsetDateTime> {
    vec![
        datetime!(2024-01-01 12:00:00 UTC),            // 12:00:00 UTC
        datetime!(2024-01-01 13:00:00 +02:00),         // 11:00:00 UTC
        datetime!(2024-01-01 12:00:00.5 UTC),          // 12:00:00.5 UTC
        datetime!(2024-01-01 07:00:00.000_001 -05:00), // 12:00:00.000001 UTC
        datetime!(2024-01-01 12:00:00 -00:30),         // 12:30:00 UTC
        datetime!(2023-12-31 23:59:59.999 -12:00),     // 2024-01-01 11:59:59.999 UTC
    ]
}

async fn order_and_filters_are_by_instant<DB: TestBackend>(db: &TestDb<DB>) {
    Moment::create_table(&db.pool).await.unwrap();
    let mut written = Vec::new();
    for at in instants() {
        // `local` and `day` are the wall time and date at the offset written.
        let mut row = full(at);
        row.insert(&db.pool).await.unwrap();
        written.push(row);
    }

    let mut by_instant = written.clone();
    by_instant.sort_by_key(|m| std::cmp::Reverse(m.at));
    let read = Moment::query()
        .order_by(|m| m.at.desc())
        .all(&db.pool)
        .await
        .unwrap();
    // Rows by the order they were written in, 1 to 6, not by key: keys grow in that order
    // but are not 1 to 6 on a Galera cluster (it steps MySQL's generated keys by its size,
    // from an offset per node).
    let ids = |rows: &[Moment]| {
        rows.iter()
            .map(|m| {
                let at = written.iter().position(|w| w.id == m.id);
                at.expect("a written row") + 1
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&read), ids(&by_instant));
    assert_eq!(ids(&read), [5, 3, 4, 1, 6, 2]);
    let read = Moment::query()
        .order_by(|m| m.maybe_at.desc())
        .all(&db.pool)
        .await
        .unwrap();
    assert_eq!(ids(&read), [5, 3, 4, 1, 6, 2]);

    // The wall times: 13:00, 12:00:00.5, 12:00, 12:00 (-00:30), 07:00:00.000001, 23:59:59.999
    // the day before; ties by key.
    let read = Moment::query()
        .order_by(|m| m.local.desc())
        .order_by(|m| m.id.asc())
        .all(&db.pool)
        .await
        .unwrap();
    assert_eq!(ids(&read), [2, 3, 1, 5, 4, 6]);

    // A filter value with an offset compares by instant: 14:00 at +02:00 is 12:00 UTC.
    let noon = datetime!(2024-01-01 14:00:00 +02:00);
    let mut after = Moment::filter(|m| m.at.gt(noon))
        .all(&db.pool)
        .await
        .unwrap();
    after.sort_by_key(|m| m.id);
    assert_eq!(ids(&after), [3, 4, 5]);
    let mut after = Moment::filter(|m| m.maybe_at.ge(noon))
        .all(&db.pool)
        .await
        .unwrap();
    after.sort_by_key(|m| m.id);
    assert_eq!(ids(&after), [1, 3, 4, 5]);
    let equal = Moment::filter(|m| m.at.eq(datetime!(2024-01-01 07:00:00 -05:00)))
        .all(&db.pool)
        .await
        .unwrap();
    assert_eq!(ids(&equal), [1]);
    let before = Moment::filter(|m| m.at.lt(datetime!(2024-01-01 12:00:00 +00:00)))
        .order_by(|m| m.id.asc())
        .all(&db.pool)
        .await
        .unwrap();
    assert_eq!(ids(&before), [2, 6]);

    // PrimitiveDateTime and Date filters.
    let mut late = Moment::filter(|m| m.local.ge(datetime!(2024-01-01 12:00:00)))
        .all(&db.pool)
        .await
        .unwrap();
    late.sort_by_key(|m| m.id);
    assert_eq!(ids(&late), [1, 2, 3, 5]);
    let old = Moment::filter(|m| m.day.lt(date!(2024 - 01 - 01)))
        .all(&db.pool)
        .await
        .unwrap();
    assert_eq!(ids(&old), [6]);
    let old = Moment::filter(|m| m.maybe_day.eq(date!(2023 - 12 - 31)))
        .all(&db.pool)
        .await
        .unwrap();
    assert_eq!(ids(&old), [6]);
}

/// `time` stores what chrono stores: the same text on SQLite, the same column values
/// elsewhere; a row written through either reads through the other.
async fn stored_as_chrono_stores_it<DB: TestBackend>(db: &TestDb<DB>) {
    Moment::create_table(&db.pool).await.unwrap();
    let cases = [
        datetime!(2024-01-01 12:00:00 UTC),
        datetime!(2024-01-01 12:00:00.5 UTC),
        datetime!(2024-01-01 12:00:00.000_001 UTC),
        datetime!(2024-01-01 12:00:00.000_000_001 UTC),
        datetime!(0001-01-01 00:00:00 UTC),
        datetime!(9999-12-31 23:59:59.999_999 UTC),
    ];
    for at in cases {
        let mut with_time = full(at);
        with_time.insert(&db.pool).await.unwrap();
        let chrono_at = DateTime::from_timestamp(at.unix_timestamp(), at.nanosecond()).unwrap();
        let mut with_chrono = ChronoMoment {
            id: None,
            at: chrono_at,
            local: chrono_at.naive_utc(),
            day: chrono_at.date_naive(),
            maybe_at: Some(chrono_at),
            maybe_local: Some(chrono_at.naive_utc()),
            maybe_day: Some(chrono_at.date_naive()),
        };
        with_chrono.insert(&db.pool).await.unwrap();
        for column in COLUMNS {
            let time_text = stored_text(db, column, with_time.id.unwrap()).await;
            let chrono_text = stored_text(db, column, with_chrono.id.unwrap()).await;
            assert_eq!(time_text, chrono_text, "{at} {column}");
        }
        // Each through the other.
        let read = Moment::get(&db.pool, with_chrono.id.unwrap())
            .await
            .unwrap();
        assert_same(
            &read,
            &Moment {
                id: with_chrono.id,
                ..with_time.clone()
            },
        );
        let read = ChronoMoment::get(&db.pool, with_time.id.unwrap())
            .await
            .unwrap();
        assert_eq!(
            read,
            ChronoMoment {
                id: with_time.id,
                ..with_chrono
            }
        );
    }

    let id = Moment::query()
        .order_by(|m| m.id.asc())
        .all(&db.pool)
        .await
        .unwrap()[0]
        .id
        .unwrap();
    let expected = match DB::DIALECT {
        Dialect::Sqlite => [
            "2024-01-01T12:00:00+00:00",
            "2024-01-01 12:00:00",
            "2024-01-01",
        ],
        Dialect::Postgres => [
            "2024-01-01 12:00:00.000000",
            "2024-01-01 12:00:00",
            "2024-01-01",
        ],
        Dialect::MySql => [
            "2024-01-01 12:00:00.000000",
            "2024-01-01 12:00:00.000000",
            "2024-01-01",
        ],
    };
    for (column, text) in ["at", "local", "day"].into_iter().zip(expected) {
        assert_eq!(stored_text(db, column, id).await, text, "{column}");
    }
    // The last moment: MySQL holds the UTC wall time in a DATETIME (a TIMESTAMP would have
    // ended in 2038), PostgreSQL a TIMESTAMPTZ.
    let last = Moment::filter(|m| m.at.eq(datetime!(9999-12-31 23:59:59.999_999 UTC)))
        .order_by(|m| m.id.asc())
        .all(&db.pool)
        .await
        .unwrap();
    assert_eq!(last.len(), 2);
    let text = stored_text(db, "at", last[0].id.unwrap()).await;
    let expected = match DB::DIALECT {
        Dialect::Sqlite => "9999-12-31T23:59:59.999999+00:00",
        Dialect::Postgres | Dialect::MySql => "9999-12-31 23:59:59.999999",
    };
    assert_eq!(text, expected);
    let column_type = match DB::DIALECT {
        Dialect::Sqlite => "SELECT typeof(at) FROM moments LIMIT 1",
        Dialect::Postgres => "SELECT CAST(pg_typeof(at) AS TEXT) FROM moments LIMIT 1",
        Dialect::MySql => {
            "SELECT CAST(column_type AS CHAR) FROM information_schema.columns \
             WHERE table_schema = DATABASE() AND table_name = 'moments' AND column_name = 'at'"
        }
    };
    let expected = match DB::DIALECT {
        Dialect::Sqlite => "text",
        Dialect::Postgres => "timestamp with time zone",
        Dialect::MySql => "datetime(6)",
    };
    assert_eq!(db.scalar::<String>(column_type).await, expected);
}

/// Text and values written by other means read back as the same instants in UTC: on SQLite
/// sqlx's own RFC 3339 (with its offset, or `Z`) and its `PrimitiveDateTime` text.
async fn other_writers_forms_are_read<DB: TestBackend>(db: &TestDb<DB>) {
    Moment::create_table(&db.pool).await.unwrap();
    let rows: &[(&str, &str)] = match DB::DIALECT {
        Dialect::Sqlite => &[
            ("2024-03-10T08:15:30.5+03:00", "2024-03-10 08:15:30.0"),
            ("2024-03-10T05:15:30.5Z", "2024-03-10 08:15:30"),
        ],
        Dialect::Postgres => &[("2024-03-10 08:15:30.5+03", "2024-03-10 08:15:30")],
        Dialect::MySql => &[("2024-03-10 05:15:30.5", "2024-03-10 08:15:30")],
    };
    for (at, local) in rows {
        db.exec(&format!(
            "INSERT INTO moments (at, local, day) VALUES ('{at}', '{local}', '2024-03-10')"
        ))
        .await;
    }
    let read = Moment::query().all(&db.pool).await.unwrap();
    assert_eq!(read.len(), rows.len());
    for row in read {
        assert_eq!(row.at, datetime!(2024-03-10 05:15:30.5 UTC));
        assert_eq!(row.at.offset(), UtcOffset::UTC, "{row:?}");
        assert_eq!(row.local, datetime!(2024-03-10 08:15:30));
        assert_eq!(row.day, date!(2024 - 03 - 10));
        assert_eq!(
            (row.maybe_at, row.maybe_local, row.maybe_day),
            (None, None, None)
        );
    }
}

per_backend!(
    the_extremes_round_trip,
    an_offset_comes_back_as_the_same_instant_in_utc,
    nanoseconds_become_what_is_stored,
    what_a_backend_cannot_store_is_refused,
    order_and_filters_are_by_instant,
    stored_as_chrono_stores_it,
    other_writers_forms_are_read,
);
