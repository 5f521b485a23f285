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
    /// `#[model(precision = p, scale = s)]` of a decimal: `(p, s)`, `s` 0 when not given.
    /// `None`: the dialect's default (see `schema::ddl`).
    pub decimal: Option<(u8, u8)>,
    /// `#[model(unique)]`.
    pub unique: bool,
    /// `#[model(index)]`.
    pub index: bool,
    /// `#[model(default = "...")]`: an SQL expression, written into the DDL as it is.
    pub default: Option<&'static str>,
    /// `#[model(generated = "...")]`: the SQL expression of a `GENERATED ALWAYS AS (...)
    /// STORED` column. (A bare `#[model(generated)]` column, kept by a trigger, is declared
    /// as a plain column.)
    pub generated: Option<&'static str>,
    /// `#[model(references = Member)]`: the column is a foreign key to `Member`'s table.
    pub references: Option<ForeignKey>,
}

/// `#[model(references = Member, on_delete = "...")]`: the referenced model's table and key,
/// read from its `Model` constants by [`references`], so that they are never written twice.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForeignKey {
    /// `Model::NAME` of the referenced model, for errors.
    pub model: &'static str,
    /// Its `Model::SCHEMA`.
    pub schema: Option<&'static str>,
    /// Its `Model::TABLE`.
    pub table: &'static str,
    /// Its `Model::COLUMNS`.
    pub columns: &'static [&'static str],
    /// Its `Model::PRIMARY_KEY`: one column, or the DDL refuses it.
    pub key: &'static [usize],
    /// `on_delete`; `None`: no `ON DELETE` clause (the database's default, which refuses).
    pub on_delete: Option<OnDelete>,
}

impl ForeignKey {
    /// The referenced column: the key's one column, `None` for a composite key.
    pub(crate) fn column(&self) -> Option<&'static str> {
        match self.key {
            &[key] => self.columns.get(key).copied(),
            _ => None,
        }
    }
}

/// `#[model(on_delete = "...")]`: what deleting a referenced row does to the rows naming it.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnDelete {
    /// `"cascade"`: they are deleted too.
    Cascade,
    /// `"restrict"`: the delete is refused.
    Restrict,
    /// `"set_null"`: their column becomes `NULL`.
    SetNull,
}

impl OnDelete {
    /// The clause's action, as SQL.
    pub(crate) fn sql(self) -> &'static str {
        match self {
            OnDelete::Cascade => "CASCADE",
            OnDelete::Restrict => "RESTRICT",
            OnDelete::SetNull => "SET NULL",
        }
    }
}

/// The type of a `#[model(references = M)]` field: `M`'s key `K`, or `Option<K>`.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot hold the primary key of the referenced model, which is `{K}`",
    label = "the field's type `{Self}` does not hold this model's key `{K}`",
    note = "a foreign key column has the type of the key of one column it references: `{K}`, or `Option<{K}>` for a reference that may be NULL",
    note = "a model whose key is a tuple (a composite key) cannot be referenced"
)]
pub trait HoldsKeyOf<K> {}

impl<K> HoldsKeyOf<K> for K {}
impl<K> HoldsKeyOf<K> for Option<K> {}
