//! The checks every write path makes on a model, shared by all of them: its values are
//! storable, its key is unchanged, its version is the next one, and the error that names a
//! missing row. The bottom of the write layer: uses nothing else in it.

use crate::base::dialect::Dialect;
use crate::base::error::Error;
use crate::listen::record::Record;

/// Refuses a value the backend would reject or store as something else, and gives the model
/// the stored precision: after the `before_*` listeners (they may have set it) and before
/// any SQL.
pub(crate) fn prepare<M: Record>(model: &mut M, dialect: Dialect) -> Result<(), Error> {
    value_error(M::__TABLE.model, model.__prepare(dialect))
}

// The generic functions here are compiled once per model: their bodies are in functions
// that are not generic, or generic over the key type only (issue 28).

fn value_error(
    model: &'static str,
    prepared: Result<(), (&'static str, &'static str)>,
) -> Result<(), Error> {
    prepared.map_err(|(column, reason)| Error::Value {
        model,
        column,
        reason,
    })
}

pub(crate) fn not_found<M: Record>(key: &M::__Key) -> Error {
    not_found_key(M::__TABLE.model, key)
}

/// [`not_found`], compiled once per key type.
pub(crate) fn not_found_key<K: std::fmt::Debug>(model: &'static str, key: &K) -> Error {
    Error::NotFound {
        model,
        key: format!("{key:?}"),
    }
}

/// Gives a versioned model its next version, to be written; returns the version it was
/// read with, which the statement requires. (On failure the write gives the old one back,
/// see [`crate::write::version::saved`].)
pub(crate) fn bump<M: Record>(model: &mut M) -> i64 {
    let read = model.__version();
    if M::__VERSION.is_some() {
        model.__set_version(next(read));
    }
    read
}

/// The key names the row to update and is never written: a key changed since the model
/// was read, or by a `before_update` listener, is refused rather than ignored (the model
/// would then claim a key that names another row, or none).
pub(crate) fn same_key<M: Record>(model: &M, key: &M::__Key) -> Result<(), Error> {
    key_unchanged(M::__TABLE.model, model.__key(), key)
}

fn key_unchanged<K: PartialEq>(model: &'static str, now: Option<K>, key: &K) -> Result<(), Error> {
    match now {
        Some(now) if now == *key => Ok(()),
        _ => Err(Error::Unsupported {
            model,
            what: "an update cannot change the primary key: it names the row to update and \
                   is never written; delete the row and insert it under the new key",
        }),
    }
}

/// The version an update writes after `version`.
pub(crate) fn next(version: i64) -> i64 {
    version.wrapping_add(1)
}
