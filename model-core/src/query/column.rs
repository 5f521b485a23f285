//! Typed column handles, what `#[derive(Model)]` generates one of per field: the building
//! blocks of filters, orderings and assignments, checked against the field's type.

use std::marker::PhantomData;

use super::filter::{Filter, Node, Op};
use super::pattern::{self, Anchor, Case};
use crate::base::column::ColumnType;
use crate::db::value::Value;
use crate::listen::record::Record;

/// One column of model `M`, holding values of type `T` (the field's type).
///
/// `#[derive(Model)]` generates a struct of these per model (`PostColumns` for `Post`), with
/// one field per column, named and typed like the model's fields; the closures given to
/// `Model::filter`, [`Select::order_by`](super::Select::order_by) and
/// [`Select::update`](super::Select::update) receive it. A misspelled column is then "no
/// field `titel` on type `&PostColumns`", and a value of the wrong type does not compile.
///
/// Values convert with [`IntoValue`]: a `String` column takes `&str`, an `Option<T>` column a
/// plain `T`.
pub struct Column<M, T> {
    index: usize,
    types: PhantomData<fn() -> (M, T)>,
}

impl<M, T> Clone for Column<M, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<M, T> Copy for Column<M, T> {}

impl<M, T> Column<M, T> {
    /// The handle of `M::__TABLE.columns[index]`, a field of type `T`. Generated code only.
    #[doc(hidden)]
    pub const fn __new(index: usize) -> Self {
        Column {
            index,
            types: PhantomData,
        }
    }

    /// Its index into `M::__TABLE.columns`.
    pub(crate) fn index(self) -> usize {
        self.index
    }
}

impl<M: Record, T: ColumnType + Clone> Column<M, T> {
    fn compare<V: IntoValue<T>>(self, op: Op, value: V) -> Filter<M> {
        Filter::new(Node::Compare {
            column: self.index,
            op,
            value: Box::new(value.into_value()),
            // Only a value of the column's own `Option` type can be `None`.
            null_aware: matches!(op, Op::Eq | Op::Ne) && T::__NULLABLE && V::__MAY_BE_NONE,
        })
    }

    /// `column = value`. On an `Option` column `eq(None)` matches `NULL` (`IS NULL`), as in
    /// SQLAlchemy, where SQL's `= NULL` would match nothing.
    pub fn eq(self, value: impl IntoValue<T>) -> Filter<M> {
        self.compare(Op::Eq, value)
    }

    /// `column <> value`. As in SQL, a row whose column is `NULL` does not match
    /// `ne(Some(3))`: add `.or(p.column.is_null())` for it. `ne(None)` is `IS NOT NULL`.
    pub fn ne(self, value: impl IntoValue<T>) -> Filter<M> {
        self.compare(Op::Ne, value)
    }

    /// `column < value`. Never matches a `NULL` column, nor anything when `value` is `None`.
    pub fn lt(self, value: impl IntoValue<T>) -> Filter<M> {
        self.compare(Op::Lt, value)
    }

    /// `column <= value`.
    pub fn le(self, value: impl IntoValue<T>) -> Filter<M> {
        self.compare(Op::Le, value)
    }

    /// `column > value`.
    pub fn gt(self, value: impl IntoValue<T>) -> Filter<M> {
        self.compare(Op::Gt, value)
    }

    /// `column >= value`.
    pub fn ge(self, value: impl IntoValue<T>) -> Filter<M> {
        self.compare(Op::Ge, value)
    }

    /// `column IN (values...)`, one bound parameter per value (a statement holds at most
    /// 32,766 on SQLite, 65,535 on PostgreSQL and MySQL). An empty list matches no row. As
    /// in SQL, a `None` in the list never matches a `NULL` column.
    pub fn in_<V: IntoValue<T>>(self, values: impl IntoIterator<Item = V>) -> Filter<M> {
        Filter::new(Node::In {
            column: self.index,
            values: values
                .into_iter()
                .map(|v| Box::new(v.into_value()) as Box<dyn Value>)
                .collect(),
        })
    }

    /// `column LIKE pattern`, text columns only: `%` matches any run of characters, `_` any
    /// one, and `\` makes the next character literal, on every backend. A pattern ending in
    /// a lone `\` is refused as [`Error::Value`](crate::Error::Value) before anything is
    /// sent. Case is the backend's: PostgreSQL is case-sensitive, SQLite folds ASCII letters,
    /// MySQL follows the column's collation (by default case- and accent-insensitive). For
    /// the same meaning everywhere, use [`Column::ilike`] or the escaping
    /// [`Column::contains`], [`Column::starts_with`] and [`Column::ends_with`].
    pub fn like(self, pattern: impl Into<String>) -> Filter<M>
    where
        T: Text,
    {
        self.pattern(pattern.into(), Case::Backend)
    }

    /// `column LIKE pattern`, ignoring letter case on every backend (PostgreSQL `ILIKE`;
    /// MySQL compares the lowered texts exactly, so accents still count; SQLite folds ASCII
    /// letters only). The pattern's `%`, `_` and `\` as in [`Column::like`].
    pub fn ilike(self, pattern: impl Into<String>) -> Filter<M>
    where
        T: Text,
    {
        self.pattern(pattern.into(), Case::Insensitive)
    }

    /// The column contains `text`, exactly as given: `%`, `_` and `\` in it are escaped, so
    /// a user's search text is never a pattern. Case-sensitive on every backend.
    pub fn contains(self, text: impl AsRef<str>) -> Filter<M>
    where
        T: Text,
    {
        self.pattern(
            pattern::literal(text.as_ref(), Anchor::Anywhere),
            Case::Sensitive,
        )
    }

    /// The column begins with `text`, exactly as given (see [`Column::contains`]).
    pub fn starts_with(self, text: impl AsRef<str>) -> Filter<M>
    where
        T: Text,
    {
        self.pattern(
            pattern::literal(text.as_ref(), Anchor::Start),
            Case::Sensitive,
        )
    }

    /// The column ends with `text`, exactly as given (see [`Column::contains`]).
    pub fn ends_with(self, text: impl AsRef<str>) -> Filter<M>
    where
        T: Text,
    {
        self.pattern(
            pattern::literal(text.as_ref(), Anchor::End),
            Case::Sensitive,
        )
    }

    /// [`Column::contains`], ignoring letter case as [`Column::ilike`] does.
    pub fn icontains(self, text: impl AsRef<str>) -> Filter<M>
    where
        T: Text,
    {
        self.pattern(
            pattern::literal(text.as_ref(), Anchor::Anywhere),
            Case::Insensitive,
        )
    }

    /// [`Column::starts_with`], ignoring letter case as [`Column::ilike`] does.
    pub fn istarts_with(self, text: impl AsRef<str>) -> Filter<M>
    where
        T: Text,
    {
        self.pattern(
            pattern::literal(text.as_ref(), Anchor::Start),
            Case::Insensitive,
        )
    }

    /// [`Column::ends_with`], ignoring letter case as [`Column::ilike`] does.
    pub fn iends_with(self, text: impl AsRef<str>) -> Filter<M>
    where
        T: Text,
    {
        self.pattern(
            pattern::literal(text.as_ref(), Anchor::End),
            Case::Insensitive,
        )
    }

    fn pattern(self, pattern: String, case: Case) -> Filter<M> {
        let glob = (case == Case::Sensitive).then(|| pattern::glob(&pattern));
        Filter::new(Node::Match {
            column: self.index,
            pattern,
            glob,
            case,
        })
    }

    /// `column IS NULL`, `Option` columns only.
    pub fn is_null(self) -> Filter<M>
    where
        T: Nullable,
    {
        Filter::new(Node::Null {
            column: self.index,
            negated: false,
        })
    }

    /// `column IS NOT NULL`, `Option` columns only.
    pub fn is_not_null(self) -> Filter<M>
    where
        T: Nullable,
    {
        Filter::new(Node::Null {
            column: self.index,
            negated: true,
        })
    }

    /// Ascending order. `NULL` sorts first on every backend, as `None` does in Rust.
    pub fn asc(self) -> Order<M> {
        Order::new(self.index, false, T::__NULLABLE)
    }

    /// Descending order. `NULL` sorts last on every backend.
    pub fn desc(self) -> Order<M> {
        Order::new(self.index, true, T::__NULLABLE)
    }

    /// Sets the column to `value` in a set-based update: [`Select::update`](super::Select::update).
    pub fn set(self, value: impl IntoValue<T>) -> Assignment<M> {
        Assignment {
            column: self.index,
            change: Box::new(Set {
                column: self.index,
                value: value.into_value(),
            }),
        }
    }
}

/// A value for a column of type `T`: `T` itself, a plain `T` for an `Option<T>` column, and
/// `&str` or `&String` for a `String` (or `Option<String>`) column.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a value for a column of type `{T}`",
    label = "expected `{T}`",
    note = "a column takes a value of its field's type; an `Option<T>` column also takes a plain `T`, a `String` column `&str`"
)]
pub trait IntoValue<T> {
    /// Whether the value may be `None`: only a value of the column's own `Option` type can.
    #[doc(hidden)]
    const __MAY_BE_NONE: bool = true;

    /// The value, as the column's type.
    fn into_value(self) -> T;
}

impl<T: ColumnType + Clone> IntoValue<T> for T {
    const __MAY_BE_NONE: bool = T::__NULLABLE;

    fn into_value(self) -> T {
        self
    }
}

impl<T: ColumnType + Clone> IntoValue<Option<T>> for T {
    const __MAY_BE_NONE: bool = false;

    fn into_value(self) -> Option<T> {
        Some(self)
    }
}

impl IntoValue<String> for &str {
    const __MAY_BE_NONE: bool = false;

    fn into_value(self) -> String {
        self.to_owned()
    }
}

impl IntoValue<Option<String>> for &str {
    const __MAY_BE_NONE: bool = false;

    fn into_value(self) -> Option<String> {
        Some(self.to_owned())
    }
}

impl IntoValue<String> for &String {
    const __MAY_BE_NONE: bool = false;

    fn into_value(self) -> String {
        self.clone()
    }
}

impl IntoValue<Option<String>> for &String {
    const __MAY_BE_NONE: bool = false;

    fn into_value(self) -> Option<String> {
        Some(self.clone())
    }
}

/// A column type holding text, which `LIKE` (and `contains`, ...) can match: `String` and `Option<String>`.
/// Implement it for a type of your own that the database stores as text.
#[diagnostic::on_unimplemented(
    message = "`like`, `contains` and the other pattern matches are for text, and a `{Self}` column is not text",
    label = "pattern matches need a `String` column",
    note = "for a type of your own stored as text, `impl model_core::Text for {Self} {{}}`"
)]
pub trait Text: ColumnType {}

impl Text for String {}
impl<T: Text> Text for Option<T> {}

mod sealed {
    pub trait Nullable {}
    impl<T> Nullable for Option<T> {}
}

/// A column type that can be `NULL`: `Option<T>`.
#[diagnostic::on_unimplemented(
    message = "a `{Self}` column is never NULL",
    label = "`is_null` and `is_not_null` are for `Option<_>` columns",
    note = "only a field of type `Option<T>` can hold NULL"
)]
pub trait Nullable: sealed::Nullable {}

impl<T> Nullable for Option<T> {}

/// One term of an `ORDER BY`: [`Column::asc`], [`Column::desc`], or a column itself
/// (ascending).
pub struct Order<M> {
    pub(crate) sort: Sort,
    model: PhantomData<fn() -> M>,
}

/// The untyped term.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sort {
    pub(crate) column: usize,
    pub(crate) descending: bool,
    /// Whether the column can be `NULL`: PostgreSQL then needs to be told where `NULL`s go.
    pub(crate) nullable: bool,
}

impl Sort {
    /// By a column of the primary key, which is never `NULL`.
    pub(crate) fn key(column: usize, descending: bool) -> Sort {
        Sort {
            column,
            descending,
            nullable: false,
        }
    }
}

impl<M> Order<M> {
    fn new(column: usize, descending: bool, nullable: bool) -> Self {
        Order {
            sort: Sort {
                column,
                descending,
                nullable,
            },
            model: PhantomData,
        }
    }
}

impl<M: Record, T: ColumnType + Clone> From<Column<M, T>> for Order<M> {
    fn from(column: Column<M, T>) -> Self {
        column.asc()
    }
}

/// `column = value` in a set-based update, made by [`Column::set`].
pub struct Assignment<M> {
    pub(crate) column: usize,
    pub(crate) change: Box<dyn Change<M>>,
}

/// One assignment, as `IntoIterator`, so that `update` takes one or several alike:
/// `|p| p.published.set(true)` or `|p| [p.published.set(true), p.views.set(0)]`.
impl<M> IntoIterator for Assignment<M> {
    type Item = Assignment<M>;
    type IntoIter = std::iter::Once<Assignment<M>>;

    fn into_iter(self) -> Self::IntoIter {
        std::iter::once(self)
    }
}

/// An assignment with its type erased: as SQL (the value, bound) or applied to a model.
pub(crate) trait Change<M>: Send + Sync {
    fn value_mut(&mut self) -> &mut dyn Value;
    fn apply(&self, model: &mut M);
}

struct Set<T> {
    column: usize,
    value: T,
}

impl<M: Record, T: ColumnType + Clone> Change<M> for Set<T> {
    fn value_mut(&mut self) -> &mut dyn Value {
        &mut self.value
    }

    fn apply(&self, model: &mut M) {
        let field = model.__column_mut::<T>(self.column);
        *field.expect("a column handle has its field's type") = self.value.clone();
    }
}
