//! Layer 2, the database: the three backends behind [`Backend`](backend::Backend), a
//! write's connection and its transaction ([`session`]), the SQLite writer queue and the
//! rowids SQLite will give a multi-row insert ([`rowids`]), the
//! outermost transaction's end and its after-commit queue ([`commit`]), a transaction run
//! again after a conflict ([`retry`]), binding keys and erased values to statements, and
//! what watches the statements: statement listeners ([`statement`]) and the `tracing` spans
//! of writes and reads ([`scope`]).
//! Uses only [`crate::base`].

pub(crate) mod backend;
pub(crate) mod commit;
pub(crate) mod conn;
pub(crate) mod key;
pub(crate) mod no_savepoints;
pub(crate) mod retry;
pub(crate) mod rowids;
pub(crate) mod rows;
pub(crate) mod scope;
pub(crate) mod session;
pub(crate) mod statement;
pub(crate) mod transaction_events;
pub(crate) mod value;
pub(crate) mod writers;
