//! Layer 2, the database: the three backends behind [`Backend`](backend::Backend), a
//! write's connection and its transaction ([`session`]), the SQLite writer queue, the
//! outermost transaction's end and its after-commit queue ([`commit`]), a transaction run
//! again after a conflict ([`retry`]), and binding keys and erased values to statements.
//! Uses only [`crate::base`].

pub(crate) mod backend;
pub(crate) mod commit;
pub(crate) mod conn;
pub(crate) mod key;
pub(crate) mod retry;
pub(crate) mod rows;
pub(crate) mod session;
pub(crate) mod value;
pub(crate) mod writers;
