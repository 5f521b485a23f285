//! The column types, one file per family: what each backend stores for them, and the
//! values it cannot store. The traits are in [`crate::base::column`].

mod builtin;
mod chrono;
pub(crate) mod derived;
mod unsigned;

#[cfg(feature = "rust_decimal")]
mod decimal;
#[cfg(feature = "json")]
mod json;
#[cfg(feature = "time")]
mod time;
#[cfg(feature = "uuid")]
mod uuid;
