//! Layer 4, the writes: one row's insert, update and delete ([`row`]), batches ([`batch`]),
//! versions, change sets and tracked updates, and [`ops`], where every write begins and ends
//! (its transaction, the after-commit queue, rollback). Reads by key live in `ops` too. A
//! delete's cascade to the rows that reference it is [`cascade`] (the parent's side) and
//! [`children`] (the child's side, which the child's derive registers). The values the
//! database wrote (generated and defaulted columns) come back into the models through
//! [`read_back`]. Uses
//! [`crate::base`], [`crate::db`] and [`crate::listen`](mod@crate::listen); a model is a
//! [`Record`](crate::listen::record::Record).

pub(crate) mod batch;
pub(crate) mod cascade;
pub(crate) mod changes;
pub(crate) mod children;
pub(crate) mod ops;
pub(crate) mod read_back;
pub(crate) mod row;
pub(crate) mod rules;
pub(crate) mod tracked;
pub(crate) mod version;
