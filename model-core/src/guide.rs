//! The model-core guide: one chapter per topic, from the Markdown files in the repository's
//! `docs/` folder.
//!
//! The top-level README has the set-up commands and a first example; these chapters have the
//! rest. Every Rust code block in them is compiled and run as a doctest of this crate
//! (`cargo test -p model-core --doc`), so the guide cannot drift from the code. The links
//! between chapters point at the Markdown files, for reading on GitHub; here, use this list:
//!
//! Using model-core:
//! 1. [`setup`]: adding model-core to a project, and a SQLite pool for concurrent writers.
//! 2. [`derive`](mod@derive): the `#[model(..)]` attributes, composite keys, the operations, batches.
//! 3. [`column_types`]: what each Rust type is stored as on each backend; enums and newtypes.
//! 4. [`schema_and_migrations`]: `CREATE TABLE` from the model, foreign keys, migrations.
//! 5. [`listeners`]: the events, listener shapes, commit and rollback listeners, listeners
//!    declared on the function or at run time, and what they cost.
//!    - [`observability`]: statement listeners and the `tracing` spans of writes, queries
//!      and listener calls.
//! 6. [`transactions`]: [`transaction`](crate::transaction), savepoints,
//!    [`retry`](crate::retry), your own errors.
//! 7. [`queries`]: typed filters, reads, streams, raw SQL, locking reads, set-based updates
//!    and deletes.
//!    - [`relationships`]: from a row to its parent and children, eager loading, filters
//!      across a relationship, and cascades that run every listener.
//! 8. [`change_tracking`]: `#[model(track_changes)]`, [`Tracked`](crate::Tracked), change
//!    sets, and `#[model(version)]`.
//! 9. [`cluster`]: a Galera cluster, retryable errors and [`retry`](crate::retry), row locks
//!    on a cluster, reading your own writes on another node.
//!
//! What you can rely on:
//! 10. [`guarantees`]: what is stored after a success, a failure, a veto, a panic.
//! 11. [`diagnostics`]: the compile errors misuse gets.
//!
//! The example and the project:
//! 12. [`blog`]: the Flask-SQLAlchemy tutorial blog as an axum service.
//! 13. [`development`]: the test suite, CI, benchmarks and the repository's layout.
//!
//! The chapters are compiled only for rustdoc and doctests: a build of model-core does not
//! read `docs/`.

#![cfg(any(doc, doctest))]

#[doc = include_str!("../../docs/setup.md")]
pub mod setup {}

#[doc = include_str!("../../docs/derive.md")]
pub mod derive {}

#[doc = include_str!("../../docs/column-types.md")]
pub mod column_types {}

#[doc = include_str!("../../docs/schema-and-migrations.md")]
pub mod schema_and_migrations {}

#[doc = include_str!("../../docs/listeners.md")]
pub mod listeners {}

#[doc = include_str!("../../docs/observability.md")]
pub mod observability {}

#[doc = include_str!("../../docs/transactions.md")]
pub mod transactions {}

#[doc = include_str!("../../docs/queries.md")]
pub mod queries {}

#[doc = include_str!("../../docs/relationships.md")]
pub mod relationships {}

#[doc = include_str!("../../docs/change-tracking.md")]
pub mod change_tracking {}

#[doc = include_str!("../../docs/cluster.md")]
pub mod cluster {}

#[doc = include_str!("../../docs/guarantees.md")]
pub mod guarantees {}

#[doc = include_str!("../../docs/diagnostics.md")]
pub mod diagnostics {}

#[doc = include_str!("../../docs/blog.md")]
pub mod blog {}

#[doc = include_str!("../../docs/development.md")]
pub mod development {}
