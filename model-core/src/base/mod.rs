//! Layer 1, the vocabulary: SQL dialects, column types and how values are stored, column
//! definitions and DDL, the text of a model's statements, the errors, and the names of the
//! events. Plain data and pure functions: nothing here touches a connection, a listener or
//! a model. Uses nothing else in the crate.

pub(crate) mod column;
pub(crate) mod ddl;
pub mod def;
pub(crate) mod dialect;
pub(crate) mod error;
pub(crate) mod event;
pub(crate) mod statements;
pub(crate) mod table;
pub(crate) mod types;
pub(crate) mod value;
