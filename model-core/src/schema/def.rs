//! What the derive knows of a column, as data: the SQL type family of its Rust type and the
//! attributes written on the field. One `static` slice per model; the DDL text is built from
//! it at run time (`schema::ddl`), so a model costs no generated SQL code.

/// The family of SQL types a column type is stored as; `schema::ddl` names it per dialect.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlType {
    /// `bool`.
    Bool,
    /// `i16`.
    SmallInt,
    /// `i32`.
    Int,
    /// `i64`.
    BigInt,
    /// `u32`.
    UnsignedInt,
    /// `u64`.
    UnsignedBigInt,
    /// `f32`.
    Float,
    /// `f64`.
    Double,
    /// `String`, text enums.
    Text,
    /// `Vec<u8>`.
    Bytes,
    /// `DateTime<Utc>`.
    TimestampTz,
    /// `NaiveDateTime`.
    Timestamp,
    /// `NaiveDate`.
    Date,
    /// `uuid::Uuid`.
    Uuid,
    /// `serde_json::Value`, `Json<T>`.
    Json,
    /// `rust_decimal::Decimal`.
    Decimal,
    /// A type with a hand-written `impl ColumnType` (the default of
    /// `ColumnType::__SQL_TYPE`): model-core does not know what SQL type it is stored as.
    Custom,
}

/// One column as the model declares it, in [`crate::Model::COLUMNS`] order.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnDef {
    /// The SQL type family of the field's type.
    pub sql_type: SqlType,
    /// Whether the field is an `Option<_>`.
    pub nullable: bool,
    /// `#[model(length = n)]`: the most characters the text may have.
    pub length: Option<u32>,
    /// `#[model(unique)]`.
    pub unique: bool,
    /// `#[model(index)]`.
    pub index: bool,
    /// `#[model(default = "...")]`: an SQL expression, written into the DDL as it is.
    pub default: Option<&'static str>,
}
