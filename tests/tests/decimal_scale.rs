//! `#[model(precision = p, scale = s)]` (issue 23): a decimal column created from its model
//! is `NUMERIC(p, s)` on PostgreSQL and `DECIMAL(p, s)` on MySQL, and reads back at scale
//! `s`; SQLite, which has no decimal type, keeps the text as written.

use model_core::sqlx::types::Decimal;
use model_core::{Dialect, Model};
use model_tests::{per_backend, TestBackend, TestDb};

#[derive(Debug, Clone, PartialEq, Model)]
#[model(table = "products")]
struct Product {
    id: Option<i64>,
    #[model(precision = 12, scale = 2)]
    price: Decimal,
    /// `precision` alone: whole numbers, as SQL's `DECIMAL(5)` is `DECIMAL(5, 0)`.
    #[model(precision = 5)]
    stock: Option<Decimal>,
    /// No size: each dialect's default.
    weight: Option<Decimal>,
}

fn decimal(text: &str) -> Decimal {
    Decimal::from_str_exact(text).unwrap()
}

fn product(price: &str) -> Product {
    Product {
        id: None,
        price: decimal(price),
        stock: None,
        weight: None,
    }
}

/// Inserts `row` and reads it back.
async fn round_trip<DB: TestBackend>(db: &TestDb<DB>, mut row: Product) -> Product {
    row.insert(&db.pool).await.unwrap();
    Product::get(&db.pool, row.id.unwrap()).await.unwrap()
}

/// The declared `(precision, scale)` of `column`, from the database's own catalogue, or
/// SQLite's declared type.
async fn declared<DB: TestBackend>(db: &TestDb<DB>, column: &str) -> String {
    let sql = match DB::DIALECT {
        Dialect::Sqlite => {
            format!("SELECT type FROM pragma_table_info('products') WHERE name = '{column}'")
        }
        Dialect::Postgres => format!(
            "SELECT CONCAT(numeric_precision, ', ', numeric_scale) FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = 'products' \
             AND column_name = '{column}'"
        ),
        Dialect::MySql => format!(
            "SELECT CONCAT(numeric_precision, ', ', numeric_scale) FROM information_schema.columns \
             WHERE table_schema = DATABASE() AND table_name = 'products' \
             AND column_name = '{column}'"
        ),
    };
    db.scalar::<String>(&sql).await
}

async fn a_declared_scale_is_the_scale_read_back<DB: TestBackend>(db: &TestDb<DB>) {
    Product::create_table(&db.pool).await.unwrap();
    let (price, stock) = match DB::DIALECT {
        // SQLite has no decimal type: a `Decimal` is its text, in a `TEXT` column.
        Dialect::Sqlite => ("TEXT", "TEXT"),
        Dialect::Postgres | Dialect::MySql => ("12, 2", "5, 0"),
    };
    assert_eq!(declared(db, "price").await, price);
    assert_eq!(declared(db, "stock").await, stock);

    let read = round_trip(db, product("12.50")).await;
    assert_eq!(read.price, decimal("12.50"));
    // On every backend: PostgreSQL and MariaDB at the declared scale (where MySQL's default
    // `DECIMAL(65, 28)` gives 28 decimals), SQLite as written.
    assert_eq!(read.price.to_string(), "12.50");

    // Fewer decimals than the scale: the servers pad to it; SQLite keeps the text it was
    // given, so there the scale is what was written.
    let read = round_trip(db, product("7.5")).await;
    assert_eq!(read.price, decimal("7.5"));
    let expected = match DB::DIALECT {
        Dialect::Sqlite => "7.5",
        Dialect::Postgres | Dialect::MySql => "7.50",
    };
    assert_eq!(read.price.to_string(), expected);
}

async fn without_a_declared_size_mysql_reads_back_28_decimals<DB: TestBackend>(db: &TestDb<DB>) {
    Product::create_table(&db.pool).await.unwrap();
    let weight = match DB::DIALECT {
        Dialect::Sqlite => "TEXT",
        // PostgreSQL's plain `NUMERIC` has no precision or scale of its own.
        Dialect::Postgres => ", ",
        Dialect::MySql => "65, 28",
    };
    assert_eq!(declared(db, "weight").await, weight);
    let read = round_trip(
        db,
        Product {
            weight: Some(decimal("12.50")),
            ..product("1")
        },
    )
    .await;
    let weight = read.weight.unwrap();
    assert_eq!(weight, decimal("12.50"));
    let expected = match DB::DIALECT {
        // The reason to declare a scale: 28 decimals, less where a `Decimal` (96 bits) has
        // no room for them, as here, 27.
        Dialect::MySql => "12.500000000000000000000000000",
        Dialect::Sqlite | Dialect::Postgres => "12.50",
    };
    assert_eq!(weight.to_string(), expected);
}

/// More decimals than the scale: PostgreSQL and MySQL round half away from zero, SQLite stores
/// the text. The model keeps the digits it was given (as with a table declared by hand).
async fn more_decimals_than_the_scale_are_rounded_by_the_servers<DB: TestBackend>(db: &TestDb<DB>) {
    Product::create_table(&db.pool).await.unwrap();
    let mut row = Product {
        stock: Some(decimal("2.5")),
        ..product("12.555")
    };
    row.insert(&db.pool).await.unwrap();
    assert_eq!(row.price.to_string(), "12.555");
    let read = Product::get(&db.pool, row.id.unwrap()).await.unwrap();
    let (price, stock) = match DB::DIALECT {
        Dialect::Sqlite => ("12.555", "2.5"),
        Dialect::Postgres | Dialect::MySql => ("12.56", "3"),
    };
    assert_eq!(read.price.to_string(), price);
    assert_eq!(read.stock.unwrap().to_string(), stock);
}

/// More digits before the point than `precision - scale` allows: the servers refuse the
/// row, and nothing is written; SQLite stores it.
async fn too_many_whole_digits_are_refused_by_the_servers<DB: TestBackend>(db: &TestDb<DB>) {
    Product::create_table(&db.pool).await.unwrap();
    let mut row = product("12345678901.00");
    let result = row.insert(&db.pool).await;
    match DB::DIALECT {
        Dialect::Sqlite => {
            result.unwrap();
            let read = Product::get(&db.pool, row.id.unwrap()).await.unwrap();
            assert_eq!(read.price.to_string(), "12345678901.00");
        }
        Dialect::Postgres | Dialect::MySql => {
            assert!(result.is_err(), "{result:?}");
            assert_eq!(db.count("products").await, 0);
        }
    }
}

per_backend!(
    a_declared_scale_is_the_scale_read_back,
    without_a_declared_size_mysql_reads_back_28_decimals,
    more_decimals_than_the_scale_are_rounded_by_the_servers,
    too_many_whole_digits_are_refused_by_the_servers,
);
