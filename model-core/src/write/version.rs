//! Optimistic locking: a `#[model(version)]` column that every update and delete checks and
//! every update bumps, so that a write based on a stale read fails instead of undoing
//! another write.
//!
//! The check is in the statement itself (`WHERE key = ? AND version = ?`, see
//! [`crate::Statements::build_versioned`]): a row that changed since it was read matches
//! nothing, and the write is refused with [`Error::Conflict`] before anything else of it is
//! committed. The database does the compare-and-set atomically, so no lock is held between
//! the read and the write. MySQL counts the rows an `UPDATE` matched, not only those it
//! changed (sqlx connects with `CLIENT_FOUND_ROWS`), which is what the check needs.

use std::future::Future;

use crate::base::column::ColumnType;
use crate::base::error::Error;
use crate::db::backend::{Backend, Query};
use crate::db::key::PrimaryKey;
use crate::db::session::Session;
use crate::listen::record::Record;
use crate::write::rules::not_found_key;

/// A type that can be a `#[model(version)]` column: an integer the update adds one to.
///
/// Implemented for `i16`, `i32`, `i64`, `u32` and `u64`. A version that reaches the type's
/// maximum wraps around to its minimum: only equality is ever checked.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a version column",
    label = "a `#[model(version)]` column is an integer",
    note = "version columns are i16, i32, i64, u32 or u64: every update checks it and adds one"
)]
pub trait Version: ColumnType + Copy {
    /// The value as `i64`; for `u64`, the same 64 bits.
    #[doc(hidden)]
    fn __to_i64(self) -> i64;

    /// The value back from [`Version::__to_i64`].
    #[doc(hidden)]
    fn __from_i64(value: i64) -> Self;
}

macro_rules! versions {
    ($($ty:ty),*) => {$(
        impl Version for $ty {
            #[inline]
            #[allow(clippy::unnecessary_cast, clippy::cast_lossless, clippy::cast_possible_wrap)]
            fn __to_i64(self) -> i64 {
                self as i64
            }

            // Truncation is the wrap-around: the value came from `__to_i64` plus one.
            #[inline]
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            fn __from_i64(value: i64) -> Self {
                value as $ty
            }
        }
    )*};
}

versions!(i16, i32, i64, u32, u64);

/// Why a write by key matched no row: [`Error::Conflict`] if the row is there (with
/// another version), [`Error::NotFound`] if it is gone. Without a version column, always
/// `NotFound`. The extra read runs only on this failure path; its async part is generic
/// over the backend alone, so a model without a version compiles none of it.
pub(crate) fn no_row<'s, 'c, M: Record, DB: Backend>(
    key: &M::__Key,
    session: &'s mut Session<'c, DB>,
) -> impl Future<Output = Error> + Send + use<'s, 'c, M, DB> {
    let (missing, lookup) = missing_of::<M, DB>(key);
    conflict_if_present(lookup, missing, session)
}

/// [`missing`] for a row of `M`: the model's part, a few lines; the rest is compiled once
/// per key type.
pub(crate) fn missing_of<M: Record, DB: Backend>(
    key: &M::__Key,
) -> (Error, Option<Query<'static, DB>>) {
    // A `match`, not `Option::map` and a closure: those are compiled once per model.
    #[allow(clippy::manual_map)]
    let versioned = match M::__VERSION {
        Some(_) => Some(M::__statements(DB::DIALECT)),
        None => None,
    };
    missing::<M::__Key, DB>(M::__TABLE.model, versioned, key)
}

/// [`no_row`]'s synchronous part: the [`Error::NotFound`], and for a versioned model (whose
/// statements are `versioned`) the lookup that tells a stale version from a missing row.
fn missing<K: PrimaryKey, DB: Backend>(
    model: &'static str,
    versioned: Option<&'static crate::base::statements::Statements>,
    key: &K,
) -> (Error, Option<Query<'static, DB>>) {
    // Generic over the key type, not the model: compiled once per key type.
    let lookup = match versioned {
        Some(statements) => {
            let sql = statements.select_keys(1);
            Some(key.__bind(sqlx::query(sqlx::AssertSqlSafe(sql))))
        }
        None => None,
    };
    (not_found_key(model, key), lookup)
}

/// `missing` (a [`Error::NotFound`]), or the same model and key as [`Error::Conflict`] if
/// `lookup` finds the row.
pub(crate) async fn conflict_if_present<DB: Backend>(
    lookup: Option<Query<'static, DB>>,
    missing: Error,
    session: &mut Session<'_, DB>,
) -> Error {
    let (Some(lookup), Error::NotFound { model, key }) = (lookup, &missing) else {
        return missing;
    };
    match DB::fetch_optional(session.conn(), lookup).await {
        Ok(Some(_)) => Error::Conflict {
            model,
            key: key.clone(),
        },
        Ok(None) => missing,
        Err(e) => Error::from_sqlx(model, e),
    }
}

/// The versions of `models` before a write: given back by [`restore`] if it fails, so that
/// a retry checks the version the row still has. (Left bumped, a retry after another
/// writer's bump would match that writer's row and overwrite its change.)
pub(crate) fn saved<M: Record>(models: &[M]) -> Vec<i64> {
    match M::__VERSION {
        Some(_) => models.iter().map(Record::__version).collect(),
        None => Vec::new(),
    }
}

/// Gives `models` back the versions [`saved`] kept.
pub(crate) fn restore<M: Record>(models: &mut [M], saved: &[i64]) {
    for (model, &version) in models.iter_mut().zip(saved) {
        model.__set_version(version);
    }
}
