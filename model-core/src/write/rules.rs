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
    model
        .__prepare(dialect)
        .map_err(|(column, reason)| Error::Value {
            model: M::__TABLE.model,
            column,
            reason,
        })
}

pub(crate) fn not_found<M: Record>(key: &M::__Key) -> Error {
    Error::NotFound {
        model: M::__TABLE.model,
        key: format!("{key:?}"),
    }
}

/// Gives a versioned model its next version, to be written; returns the version it was
/// read with, which the statement requires. (On failure the write gives the old one back,
/// see [`version::saved`].)
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
    match model.__key() {
        Some(now) if now == *key => Ok(()),
        _ => Err(Error::Unsupported {
            model: M::__TABLE.model,
            what: "an update cannot change the primary key: it names the row to update and \
                   is never written; delete the row and insert it under the new key",
        }),
    }
}

/// The version an update writes after `version`.
pub(crate) fn next(version: i64) -> i64 {
    version.wrapping_add(1)
}
