//! Beyond one server (issue 26), criterion measuring each side (`cluster/<backend>/<case>/
//! model` and `.../hand`), median of each side over criterion's samples:
//!
//! - `retry` against `transaction`: one-row insert transactions, nothing conflicting, so
//!   every `retry` commits at its first attempt: what the helper costs when it is not needed
//!   (the "hand" side here is model-core's own `transaction`);
//! - `insert_all` of 20,000 rows with generated keys against sqlx's `push_values` with
//!   `RETURNING id` (the keys read back, as `insert_all` reads them), on PostgreSQL and
//!   MariaDB. Run it against a Galera node to measure the cluster (`innodb_autoinc_lock_mode
//!   = 2`, where MariaDB's `insert_all` sends multi-row `INSERT ... RETURNING`):
//!
//! ```sh
//! bash scripts/galera.sh start
//! MYSQL_URL=mysql://root@127.0.0.1:3311/test cargo bench -p model-tests --bench cluster -- mysql
//! bash scripts/galera.sh stop
//! ```
//!
//! `cargo bench -p model-tests --bench cluster` (`-- sqlite`, `-- postgres` or `-- mysql` for
//! one backend). Ratio is the other side's time over model-core's: 1.00 means as fast.

#![allow(missing_docs)]

mod side_by_side;

use std::time::{Duration, Instant};

use model_core::{retry, transaction, Conn, Dialect, Model, Retry};
use model_tests::{TestBackend, TestDb};
use side_by_side::{backend, Bench, Length};
use sqlx::{MySql, Postgres, QueryBuilder, Sqlite};

#[derive(Debug, Clone, Model)]
#[model(table = "notes")]
struct Note {
    id: Option<i64>,
    body: String,
    weight: i64,
}

const ROWS: usize = 20_000;

fn notes() -> Vec<Note> {
    (0..ROWS)
        .map(|n| Note {
            id: None,
            body: format!("note {n}"),
            weight: n as i64,
        })
        .collect()
}

async fn clear<DB: TestBackend>(db: &TestDb<DB>) {
    db.exec(&format!("DELETE FROM {}", db.quote("notes"))).await;
}

/// The hand-written batch: `push_values` with `RETURNING id`, in chunks of the backend's
/// bind limit, in one transaction, the keys collected.
async fn push_values<DB: TestBackend>(pool: &sqlx::Pool<DB>, rows: &[Note]) -> Vec<i64>
where
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB> + sqlx::Decode<'q, DB>,
    usize: sqlx::ColumnIndex<<DB as sqlx::Database>::Row>,
{
    let mut tx = pool.begin().await.unwrap();
    let mut keys = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(30_000) {
        let mut insert: QueryBuilder<DB> = QueryBuilder::new(format!(
            "INSERT INTO {} ({}, {}) ",
            DB::DIALECT.quote("notes"),
            DB::DIALECT.quote("body"),
            DB::DIALECT.quote("weight")
        ));
        insert.push_values(chunk, |mut row, note| {
            row.push_bind(note.body.clone()).push_bind(note.weight);
        });
        insert.push(" RETURNING ");
        insert.push(DB::DIALECT.quote("id"));
        let rows = Conn::<DB>::from_mut(&mut tx)
            .fetch_all(insert.build())
            .await
            .unwrap();
        keys.extend(rows.iter().map(|row| sqlx::Row::get::<i64, usize>(row, 0)));
    }
    tx.commit().await.unwrap();
    keys
}

fn cases<DB: TestBackend>(bench: &mut Bench)
where
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB> + sqlx::Decode<'q, DB>,
    usize: sqlx::ColumnIndex<<DB as sqlx::Database>::Row>,
{
    let (key, backend) = backend(DB::DIALECT);
    if !bench.wants(key) {
        return;
    }
    let Some(db): Option<TestDb<DB>> =
        bench.block_on(DB::fresh_file(&format!("bench_cluster_{:?}", DB::DIALECT)))
    else {
        return;
    };
    let pool = &db.pool;
    bench.block_on(async { Note::create_table(pool).await.unwrap() });

    let retried = bench.compare(
        &format!("cluster/{key}/retry_without_conflict"),
        Length::Short,
        async |iters| {
            let start = Instant::now();
            for n in 0..iters {
                retry(pool, Retry::default(), move |conn| {
                    Box::pin(async move {
                        let mut note = Note {
                            id: None,
                            body: "retried".into(),
                            weight: n as i64,
                        };
                        note.insert(conn).await
                    })
                })
                .await
                .unwrap();
            }
            start.elapsed()
        },
        async |iters| {
            let start = Instant::now();
            for n in 0..iters {
                transaction(pool, move |conn| {
                    Box::pin(async move {
                        let mut note = Note {
                            id: None,
                            body: "plain".into(),
                            weight: n as i64,
                        };
                        note.insert(conn).await
                    })
                })
                .await
                .unwrap();
            }
            start.elapsed()
        },
    );

    // SQLite's `insert_all` against `push_values` is the writes bench's; this case is about
    // the servers, and a cluster's key rule.
    let batch = (DB::DIALECT != Dialect::Sqlite).then(|| {
        bench.compare(
            &format!("cluster/{key}/insert_all_20000"),
            Length::Long,
            async |iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    clear(&db).await;
                    let mut rows = notes();
                    let start = Instant::now();
                    Note::insert_all(&mut rows, pool).await.unwrap();
                    total += start.elapsed();
                    assert!(rows.iter().all(|n| n.id.is_some()));
                }
                total
            },
            async |iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    clear(&db).await;
                    let rows = notes();
                    let start = Instant::now();
                    let keys = push_values(pool, &rows).await;
                    total += start.elapsed();
                    assert_eq!(keys.len(), ROWS);
                }
                total
            },
        )
    });

    if let Some(t) = retried {
        bench.line(format!(
            "| {backend} | one-row insert transaction, nothing conflicting: `retry` against `transaction` | {:.1} µs | {:.1} µs | {:.3} |",
            t.model.as_secs_f64() * 1e6,
            t.hand.as_secs_f64() * 1e6,
            t.hand_over_model()
        ));
    }
    if let Some(Some(t)) = batch {
        bench.line(format!(
            "| {backend} | `insert_all` of 20,000 rows against `push_values ... RETURNING id` | {:.0} rows/s | {:.0} rows/s | {:.3} |",
            ROWS as f64 / t.model.as_secs_f64(),
            ROWS as f64 / t.hand.as_secs_f64(),
            t.hand_over_model()
        ));
    }
    bench.block_on(db.finish());
}

fn main() {
    let mut bench = Bench::new(
        "| backend | case | model-core | other side | ratio (other / model) |\n|---|---|---|---|---|",
    );
    cases::<Sqlite>(&mut bench);
    cases::<Postgres>(&mut bench);
    cases::<MySql>(&mut bench);
    bench.finish();
}
