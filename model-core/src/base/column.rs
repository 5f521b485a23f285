//! Which Rust types can be stored in a column, and how each backend stores them.
//!
//! [`ColumnType`] is what users see. Beneath it, [`Stored`] says how one backend binds and
//! reads a type: for most types that is sqlx's own `Encode`/`Decode` ([`stored_via_sqlx`]),
//! but not for all. sqlx has no `u32` on PostgreSQL and no `Decimal` on SQLite, and stores
//! `Uuid` as a blob where model-core stores text; so a type is a column type when every
//! backend can store it, however that backend does it. The impls live in `crate::base::types`.

use sqlx::error::BoxDynError;
use sqlx::{Database, Decode, MySql, Postgres, Sqlite, Type, TypeInfo as _, ValueRef as _};

use crate::base::def::SqlType;
use crate::base::dialect::Dialect;

/// A query with its arguments bound (the same type as [`crate::Query`]).
type Query<'q, DB> = sqlx::query::Query<'q, DB, <DB as Database>::Arguments>;

/// A Rust type that every backend can store in one column and read back.
///
/// | Rust type | SQLite | PostgreSQL | MySQL / MariaDB | feature |
/// |---|---|---|---|---|
/// | `bool` | `BOOLEAN` (0 or 1) | `BOOLEAN` | `BOOLEAN` | |
/// | `i16`, `i32`, `i64` | `INTEGER` | `SMALLINT`, `INTEGER`, `BIGINT` | `SMALLINT`, `INT`, `BIGINT` | |
/// | `u32` | `INTEGER` | `BIGINT` | `INT UNSIGNED` | |
/// | `u64` | `INTEGER`, up to `i64::MAX` | `BIGINT`, up to `i64::MAX` | `BIGINT UNSIGNED` | |
/// | `f32`, `f64` | `REAL` | `REAL`, `DOUBLE PRECISION` | `FLOAT`, `DOUBLE` | |
/// | `String` | `TEXT` | `TEXT`, `VARCHAR` | `TEXT`, `VARCHAR` | |
/// | `Vec<u8>` | `BLOB` | `BYTEA` | `BLOB`, `VARBINARY` | |
/// | chrono `DateTime<Utc>` | `TEXT` | `TIMESTAMPTZ` | `DATETIME(6)` | |
/// | chrono `NaiveDateTime` | `TEXT` | `TIMESTAMP` | `DATETIME(6)` | |
/// | chrono `NaiveDate` | `TEXT` | `DATE` | `DATE` | |
/// | time `OffsetDateTime`, `PrimitiveDateTime`, `Date` | `TEXT` | `TIMESTAMPTZ`, `TIMESTAMP`, `DATE` | `DATETIME(6)`, `DATETIME(6)`, `DATE` | `time` |
/// | `uuid::Uuid` | `TEXT` (36 characters) | `UUID` | `CHAR(36)` (MariaDB: or `UUID`) | `uuid` |
/// | `serde_json::Value`, `sqlx::types::Json<T>` | `TEXT` | `JSONB` (or `JSON`) | `JSON` | `json` |
/// | `rust_decimal::Decimal` | `TEXT` | `NUMERIC`, `NUMERIC(p, s)` | `DECIMAL(65, 28)`, `DECIMAL(p, s)` | `rust_decimal` |
/// | `#[derive(ColumnType)]` enum | `TEXT` | `TEXT` | `VARCHAR`, `TEXT` or `ENUM` | |
/// | same, `#[column(repr = "i32")]` | `INTEGER` | `INTEGER` | `INT` | |
/// | `#[derive(ColumnType)]` newtype | its field's | its field's | its field's | |
/// | `Option<T>` of any of them | `NULL` for `None` | | | |
///
/// A value a backend cannot store, or would store as something else, is refused before any
/// SQL is sent, with [`crate::Error::Value`] and the reason: NaN on SQLite and MySQL,
/// infinities on MySQL, years outside 1 to 9999 on MySQL, NUL in PostgreSQL text, a `u64`
/// above `i64::MAX` on SQLite and PostgreSQL. Where the backend only rounds (microseconds,
/// `-0.0`), the model is given the stored value, so that it equals a fresh read of its row.
///
/// - `Uuid` is stored as its hyphenated lowercase text where there is no UUID type, so that
///   every backend shows and sorts it alike (PostgreSQL's `UUID` orders bytewise, and so does
///   lowercase hex). Reading also accepts the 16-byte binary form sqlx writes (`BLOB`,
///   `BINARY(16)`).
/// - `Decimal` on SQLite, which has no decimal type, is its exact text (`"12.50"`, scale
///   kept) in a `TEXT` column; SQLite compares such text as text and does arithmetic on it in
///   binary floating point. A column declared `NUMERIC` or `DECIMAL` would turn the text
///   into a float: reading a `REAL` into a `Decimal` is refused, an `INTEGER` is read. A
///   PostgreSQL `NUMERIC(p, s)` or MySQL `DECIMAL(p, s)` (`#[model(precision = p, scale =
///   s)]`) rounds to its scale `s`; the model keeps what you set.
/// - JSON: PostgreSQL's `JSONB` refuses the NUL character (`"\u0000"`) and comes back as
///   [`crate::Error::Database`]; MySQL's `JSON` sorts object keys (`serde_json::Value`
///   compares equal either way); MariaDB's `JSON` is text and stores it as sent.
///
/// Your own types: `#[derive(model_core::ColumnType)]` stores a fieldless enum as text or as
/// an integer, and a newtype (`struct UserId(i64)`) as its field; see the derive. A field that
/// should not be a column at all takes `#[model(skip)]`.
///
/// A type that already implements sqlx's `Type`, `Encode` and `Decode` for all three
/// backends (a hand-written impl, or `#[derive(sqlx::Type)]` with a representation every
/// backend shares) is a column type with an empty impl, every item of `ColumnType` having a
/// default, and [`store_with_sqlx!`](crate::store_with_sqlx), which says "store it through
/// sqlx as it is".
///
/// ```
/// use model_core::{ColumnType, Model};
/// use sqlx::{Database, Decode, Encode, Type};
///
/// /// Cents, stored as a `BIGINT`: sqlx's impls below delegate to `i64`'s.
/// #[derive(Debug, Clone, Copy, PartialEq)]
/// struct Cents(i64);
///
/// impl<DB: Database> Type<DB> for Cents where i64: Type<DB> {
///     fn type_info() -> DB::TypeInfo { <i64 as Type<DB>>::type_info() }
///     fn compatible(ty: &DB::TypeInfo) -> bool { <i64 as Type<DB>>::compatible(ty) }
/// }
/// impl<'q, DB: Database> Encode<'q, DB> for Cents where i64: Encode<'q, DB> {
///     fn encode_by_ref(
///         &self,
///         buf: &mut DB::ArgumentBuffer,
///     ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
///         self.0.encode_by_ref(buf)
///     }
/// }
/// impl<'r, DB: Database> Decode<'r, DB> for Cents where i64: Decode<'r, DB> {
///     fn decode(value: DB::ValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
///         i64::decode(value).map(Cents)
///     }
/// }
///
/// impl ColumnType for Cents {}
/// model_core::store_with_sqlx!(Cents);
///
/// #[derive(Model)]
/// struct Order {
///     id: Option<i64>,
///     total: Cents,
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be stored in a column",
    label = "this field's type is not a column type",
    note = "column types are bool, i16, i32, i64, u32, u64, f32, f64, String, Vec<u8>, chrono's DateTime<Utc>, NaiveDateTime and NaiveDate, with model-core's features uuid::Uuid, serde_json::Value, sqlx::types::Json<T>, rust_decimal::Decimal and time's OffsetDateTime, PrimitiveDateTime and Date, and Option<T> of those",
    note = "for an enum or a newtype of your own, `#[derive(model_core::ColumnType)]`; to keep the field out of the table, `#[model(skip)]`"
)]
pub trait ColumnType:
    Send + Sync + Sized + 'static + Stored<Sqlite> + Stored<Postgres> + Stored<MySql>
{
    /// Converts MySQL's last-insert-id into this type, for the key of an `Option<_>` primary
    /// key. `None` for types that cannot be generated keys.
    #[doc(hidden)]
    fn __from_insert_id(id: u64) -> Option<Self> {
        let _ = id;
        None
    }

    /// This generated key as a number, to put the keys of a multi-row insert in the order
    /// the database generated them. `None` for types that cannot be generated keys.
    #[doc(hidden)]
    fn __generated_id(&self) -> Option<i64> {
        None
    }

    /// Whether SQL `NULL` is a value of this type (`Option<T>`). Reading `NULL` into any
    /// other type is an error: sqlx's SQLite driver would otherwise decode it as `0`, `0.0`
    /// or `""`.
    #[doc(hidden)]
    const __NULLABLE: bool = false;

    /// Makes the value what `dialect` will store, where the two differ only in precision or
    /// sign of zero (so that the model, after a write, equals a fresh read of its row), or
    /// says why `dialect` cannot store it at all.
    #[doc(hidden)]
    fn __prepare(&mut self, dialect: Dialect) -> Result<(), &'static str> {
        let _ = dialect;
        Ok(())
    }

    /// The SQL type family the schema declares for this type ([`crate::schema`]).
    #[doc(hidden)]
    const __SQL_TYPE: SqlType = SqlType::Custom;

    /// The text of a text value, for a column's `#[model(length = n)]`; `None` for `NULL`
    /// and for every type that is not text.
    #[doc(hidden)]
    fn __text(&self) -> Option<&str> {
        None
    }
}

/// Stores a type of your own through its own sqlx `Type`, `Encode` and `Decode` impls, on
/// every backend: with `impl ColumnType for MyType {}` beside it, a column type (see
/// [`ColumnType`]).
///
/// `store_with_sqlx!(Cents);` implements model-core's hidden storage trait for `Cents`,
/// generic over the backend, as `#[derive(ColumnType)]` does for an enum. A macro for your
/// type, rather than a rule for every type sqlx encodes, because model-core stores some
/// types otherwise than sqlx does (`u32` on PostgreSQL, `Uuid` as text): Rust could not tell
/// such a rule apart from those, and every type that is no column type would be answered
/// with sqlx's traits instead of one error about `ColumnType`.
#[macro_export]
macro_rules! store_with_sqlx {
    ($($ty:ty),+ $(,)?) => {$(
        #[automatically_derived]
        impl<__DB: $crate::__private::sqlx::Database> $crate::__private::Stored<__DB> for $ty
        where
            Self: for<'__e> $crate::__private::sqlx::Encode<'__e, __DB>
                + for<'__r> $crate::__private::sqlx::Decode<'__r, __DB>
                + $crate::__private::sqlx::Type<__DB>,
            ::core::option::Option<Self>: for<'__e> $crate::__private::sqlx::Encode<'__e, __DB>,
        {
            #[inline]
            fn bind<'__q>(
                &self,
                query: $crate::__private::Query<'__q, __DB>,
            ) -> $crate::__private::Query<'__q, __DB> {
                query.bind(self)
            }
            #[inline]
            fn bind_null(
                query: $crate::__private::Query<'_, __DB>,
            ) -> $crate::__private::Query<'_, __DB> {
                query.bind(::core::option::Option::None::<Self>)
            }
            #[inline]
            fn decode(
                value: <__DB as $crate::__private::sqlx::Database>::ValueRef<'_>,
            ) -> ::core::result::Result<Self, $crate::__private::sqlx::error::BoxDynError> {
                $crate::__private::decode_checked::<__DB, Self>(value)
            }
        }
    )+};
}

/// How one backend binds a column type into a statement and reads it from a row. Hidden:
/// model-core implements it for its column types, `#[derive(ColumnType)]` for yours, and
/// [`store_with_sqlx!`](crate::store_with_sqlx) for a type sqlx stores as it is.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no column storage on `{DB}`",
    note = "derive it: `#[derive(model_core::ColumnType)]` on a fieldless enum or a newtype",
    note = "or, for a type that implements sqlx's `Type`, `Encode` and `Decode` on every backend: `model_core::store_with_sqlx!({Self});`"
)]
pub trait Stored<DB: Database>: Sized {
    /// Binds the value.
    fn bind<'q>(&self, query: Query<'q, DB>) -> Query<'q, DB>;

    /// Binds `NULL`, typed as this type's values are (PostgreSQL checks the type of a
    /// `NULL` parameter too).
    fn bind_null(query: Query<'_, DB>) -> Query<'_, DB>;

    /// Reads a value. Only `Option<T>` is handed `NULL`: `Backend::get` refuses it for
    /// every other type.
    fn decode(value: <DB as Database>::ValueRef<'_>) -> Result<Self, BoxDynError>;
}

/// Implements [`Stored`] through sqlx's own `Encode`, `Decode` and `Type` on the backends
/// listed: `stored_via_sqlx!(bool: Sqlite, Postgres, MySql)`; for a generic type, one
/// backend at a time with the generics in brackets: `stored_via_sqlx!([T: Bound] Wrapper<T>,
/// Sqlite)`.
///
/// One impl per type and backend, not a blanket impl over every type sqlx encodes: a
/// blanket impl would answer a field of a type that is no column type with a dozen errors
/// about sqlx's traits instead of one about `ColumnType`. Per backend, because sqlx
/// implements `Encode` for `Option<T>` (a typed `NULL`) per driver.
macro_rules! stored_via_sqlx {
    ([$($generics:tt)*] $ty:ty, $db:ty) => {
        impl<$($generics)*> $crate::base::column::Stored<$db> for $ty {
            #[inline]
            fn bind<'q>(
                &self,
                query: $crate::base::dialect::Query<'q, $db>,
            ) -> $crate::base::dialect::Query<'q, $db> {
                query.bind(self)
            }
            #[inline]
            fn bind_null(query: $crate::base::dialect::Query<'_, $db>) -> $crate::base::dialect::Query<'_, $db> {
                query.bind(None::<$ty>)
            }
            #[inline]
            fn decode(
                value: <$db as sqlx::Database>::ValueRef<'_>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                $crate::base::column::decode_checked::<$db, $ty>(value)
            }
        }
    };
    ($ty:ty: $($db:ty),+) => {$(
        $crate::base::column::stored_via_sqlx!([] $ty, $db);
    )+};
}
pub(crate) use stored_via_sqlx;

/// Decodes with sqlx, after the check `Row::try_get` makes: the value's SQL type must be
/// one `T` accepts. Without it SQLite would read the text `'abc'` as the integer `0`.
pub fn decode_checked<'r, DB, T>(value: <DB as Database>::ValueRef<'r>) -> Result<T, BoxDynError>
where
    DB: Database,
    T: Decode<'r, DB> + Type<DB>,
{
    check_type::<DB, T>(&value)?;
    T::decode(value)
}

/// The check of [`decode_checked`] alone.
pub(crate) fn check_type<'r, DB, T>(
    value: &<DB as Database>::ValueRef<'r>,
) -> Result<(), BoxDynError>
where
    DB: Database,
    T: Type<DB>,
{
    let ty = value.type_info();
    if ty.is_null() || T::compatible(&ty) {
        Ok(())
    } else {
        Err(sqlx::error::mismatched_types::<DB, T>(&ty))
    }
}

impl<T: ColumnType> ColumnType for Option<T> {
    const __NULLABLE: bool = true;
    const __SQL_TYPE: SqlType = T::__SQL_TYPE;

    fn __text(&self) -> Option<&str> {
        self.as_ref().and_then(T::__text)
    }

    fn __prepare(&mut self, dialect: Dialect) -> Result<(), &'static str> {
        match self {
            Some(value) => value.__prepare(dialect),
            None => Ok(()),
        }
    }
}

impl<DB: Database, T: Stored<DB>> Stored<DB> for Option<T> {
    #[inline]
    fn bind<'q>(&self, query: Query<'q, DB>) -> Query<'q, DB> {
        match self {
            Some(value) => value.bind(query),
            None => T::bind_null(query),
        }
    }

    #[inline]
    fn bind_null(query: Query<'_, DB>) -> Query<'_, DB> {
        T::bind_null(query)
    }

    #[inline]
    fn decode(value: <DB as Database>::ValueRef<'_>) -> Result<Self, BoxDynError> {
        if value.is_null() {
            Ok(None)
        } else {
            T::decode(value).map(Some)
        }
    }
}

/// An integer type the database can generate as a primary key (`AUTOINCREMENT`,
/// `GENERATED ... AS IDENTITY`, `AUTO_INCREMENT`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a generated primary key",
    label = "an `Option<_>` primary key is filled in by the database, so it must be `Option<i16>`, `Option<i32>`, `Option<i64>`, `Option<u32>`, `Option<u64>` or a newtype of one of them",
    note = "for a key you always set yourself, drop the `Option`: `#[model(primary_key)] code: String`"
)]
pub trait GeneratedKey: ColumnType {}

/// A text column type, whose length `#[model(length = n)]` can limit: `String`,
/// `Option<String>` and `#[derive(ColumnType)]` newtypes of them.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`length` limits text, and `{Self}` is not text",
    label = "`#[model(length = ...)]` needs a `String` field (or `Option<String>`, or a newtype of one)",
    note = "a limit on a number is a listener's check: `#[listens_for(before_insert, check)]`"
)]
pub trait MaxLength: ColumnType {}

impl MaxLength for String {}
impl<T: MaxLength> MaxLength for Option<T> {}

/// Checks a `#[model(length = max)]` column before it is written.
#[doc(hidden)]
#[inline]
pub fn check_length<T: MaxLength>(value: &T, max: u32) -> Result<(), &'static str> {
    check_text(value.__text(), max)
}

/// Refuses text of more than `max` characters (not bytes: `"é"` is one).
#[inline]
pub(crate) fn check_text(text: Option<&str>, max: u32) -> Result<(), &'static str> {
    let max = max as usize;
    match text {
        // Every character is at least one byte: a short text needs no counting.
        Some(text) if text.len() > max && text.chars().count() > max => Err(too_long(max)),
        _ => Ok(()),
    }
}

/// "the column holds at most 80 characters", made once per limit: `Error::Value` holds a
/// `&'static str`, and a program has a few distinct limits.
#[cold]
fn too_long(max: usize) -> &'static str {
    static REASONS: std::sync::Mutex<Vec<(usize, &'static str)>> =
        std::sync::Mutex::new(Vec::new());
    let mut reasons = REASONS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, reason)) = reasons.iter().find(|(n, _)| *n == max) {
        return reason;
    }
    let reason: &'static str =
        Box::leak(format!("the column holds at most {max} characters").into_boxed_str());
    reasons.push((max, reason));
    reason
}
