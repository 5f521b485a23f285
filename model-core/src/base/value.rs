//! Column values as one enum, for the listeners of every model: they cannot name a model's
//! field types, so they read its columns as [`Value`]s.

use std::any::type_name;
use std::fmt;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

/// One column's value, as a listener of every model sees it ([`AnyModel::column_values`]).
///
/// Types with no variant of their own are given as their text: `uuid::Uuid` (hyphenated),
/// `serde_json::Value` and `Json<T>` (JSON), `rust_decimal::Decimal` (exact digits). A type
/// model-core cannot convert (a `#[derive(ColumnType)]` type) is [`Value::Other`] with its
/// type's name.
///
/// [`AnyModel::column_values`]: crate::AnyModel::column_values
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// SQL `NULL`: an `Option` field that is `None`.
    Null,
    /// `bool`.
    Bool(bool),
    /// `i16`, `i32`, `i64`, `u32`, and a `u64` up to `i64::MAX`.
    Int(i64),
    /// A `u64` above `i64::MAX`.
    UInt(u64),
    /// `f32`, `f64`.
    Float(f64),
    /// `String`, and the types stored as text (see above).
    Text(String),
    /// `Vec<u8>`.
    Bytes(Vec<u8>),
    /// chrono's `DateTime<Utc>`.
    Timestamp(DateTime<Utc>),
    /// chrono's `NaiveDateTime`.
    DateTime(NaiveDateTime),
    /// chrono's `NaiveDate`.
    Date(NaiveDate),
    /// A value of a type model-core cannot convert; the type's name.
    Other(&'static str),
    /// A composite primary key's values, in key order ([`AnyModel::key_value`]).
    ///
    /// [`AnyModel::key_value`]: crate::AnyModel::key_value
    Tuple(Vec<Value>),
}

impl fmt::Display for Value {
    /// The value as an audit log would write it: text and numbers as they are, `NULL`,
    /// bytes in hex.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Bool(value) => write!(f, "{value}"),
            Value::Int(value) => write!(f, "{value}"),
            Value::UInt(value) => write!(f, "{value}"),
            Value::Float(value) => write!(f, "{value}"),
            Value::Text(value) => f.write_str(value),
            Value::Bytes(bytes) => bytes.iter().try_for_each(|b| write!(f, "{b:02x}")),
            Value::Timestamp(value) => write!(f, "{}", value.to_rfc3339()),
            Value::DateTime(value) => write!(f, "{value}"),
            Value::Date(value) => write!(f, "{value}"),
            Value::Other(ty) => write!(f, "<{ty}>"),
            Value::Tuple(values) => {
                f.write_str("(")?;
                for (i, value) in values.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{value}")?;
                }
                f.write_str(")")
            }
        }
    }
}

/// A column type that converts to a [`Value`]. Implemented for model-core's column types;
/// a field of any other type is [`Value::Other`].
///
/// A trait of its own rather than a method of [`ColumnType`](crate::ColumnType): the
/// conversion is only for the listeners of every model, and a type without it still works
/// everywhere else.
pub trait ToValue {
    /// The value, copied.
    fn to_value(&self) -> Value;
}

impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> Value {
        self.as_ref().map_or(Value::Null, T::to_value)
    }
}

macro_rules! to_value {
    ($($ty:ty => |$v:ident| $e:expr),* $(,)?) => {$(
        impl ToValue for $ty {
            fn to_value(&self) -> Value {
                let $v = self;
                $e
            }
        }
    )*};
}

to_value! {
    bool => |v| Value::Bool(*v),
    i16 => |v| Value::Int(i64::from(*v)),
    i32 => |v| Value::Int(i64::from(*v)),
    i64 => |v| Value::Int(*v),
    u32 => |v| Value::Int(i64::from(*v)),
    u64 => |v| i64::try_from(*v).map_or(Value::UInt(*v), Value::Int),
    f32 => |v| Value::Float(f64::from(*v)),
    f64 => |v| Value::Float(*v),
    String => |v| Value::Text(v.clone()),
    Vec<u8> => |v| Value::Bytes(v.clone()),
    DateTime<Utc> => |v| Value::Timestamp(*v),
    NaiveDateTime => |v| Value::DateTime(*v),
    NaiveDate => |v| Value::Date(*v),
}

#[cfg(feature = "uuid")]
to_value!(uuid::Uuid => |v| Value::Text(v.hyphenated().to_string()));

#[cfg(feature = "json")]
to_value!(serde_json::Value => |v| Value::Text(v.to_string()));

#[cfg(feature = "json")]
impl<T: serde::Serialize> ToValue for sqlx::types::Json<T> {
    fn to_value(&self) -> Value {
        serde_json::to_string(&self.0).map_or(Value::Other(type_name::<T>()), Value::Text)
    }
}

#[cfg(feature = "rust_decimal")]
to_value!(rust_decimal::Decimal => |v| Value::Text(v.to_string()));

/// A field, for the derive's `__values`: `(&Probe(&self.field)).__value()` is the field's
/// [`ToValue`] where it has one, else [`Value::Other`]. Method lookup tries `Probe<T>` (the
/// [`ViaToValue`] impl, only where `T: ToValue`) before `&Probe<T>` ([`ViaFallback`]), so a
/// type without the conversion still compiles: the "autoref specialisation" of a concrete
/// type, which is all generated code ever has.
#[doc(hidden)]
pub struct Probe<'a, T>(pub &'a T);

#[doc(hidden)]
pub trait ViaToValue {
    fn __value(&self) -> Value;
}

impl<T: ToValue> ViaToValue for Probe<'_, T> {
    #[inline]
    fn __value(&self) -> Value {
        self.0.to_value()
    }
}

#[doc(hidden)]
pub trait ViaFallback {
    fn __value(&self) -> Value;
}

impl<T> ViaFallback for &Probe<'_, T> {
    #[inline]
    fn __value(&self) -> Value {
        Value::Other(type_name::<T>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Mine;

    // The borrow is what generated code writes: without it, a type with no `ToValue` would
    // not compile.
    #[allow(clippy::needless_borrow)]
    #[test]
    fn probe_converts_what_it_can_and_names_the_rest() {
        assert_eq!((&Probe(&Some(3_i32))).__value(), Value::Int(3));
        assert_eq!((&Probe(&None::<String>)).__value(), Value::Null);
        assert_eq!((&Probe(&u64::MAX)).__value(), Value::UInt(u64::MAX));
        assert!(matches!((&Probe(&Mine)).__value(), Value::Other(name) if name.ends_with("Mine")));
    }
}
