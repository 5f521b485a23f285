//! Layer 4, the writes: what a parent's delete does first to the rows that reference it
//! (`#[model(references = Post, on_delete = "cascade" | "set_null")]`), so that no child is
//! deleted or let go without its listeners. Uses [`crate::base`], [`crate::db`] and
//! [`crate::listen`](mod@crate::listen); the children's side (reading them, and deleting or updating them
//! through the write paths) is [`crate::write::children`], reached through function
//! pointers.
//!
//! A parent's derive cannot see its children: each child's derive registers one
//! [`Cascade`] per such field in [`CASCADES`], a slice the linker gathers from every crate
//! (as function-side listeners are, `listen::registry`). A delete of parents (`delete`,
//! `delete_all`, the per-row path of a set-based delete) calls [`before_delete`] after the
//! parents' `before_delete` listeners and before their `DELETE`: for each cascade whose child
//! has a listener the cascade would run (or, for a delete, whose own children do), the
//! children are read and deleted (or their key set to `NULL`) through the listener path, in
//! the parent's transaction, children before parents. Where nothing listens, nothing is
//! read: the database's own `ON DELETE` does the same work, unseen.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::future::Future;
use std::ops::Range;
use std::pin::Pin;
use std::sync::OnceLock;

use sqlx::{MySql, Postgres, Sqlite};

use crate::base::error::Error;
use crate::base::event::Event;
use crate::db::backend::{Backend, Query};
use crate::db::key::PrimaryKey;
use crate::db::scope::{self, Operation};
use crate::db::session::Session;
use crate::listen::cell_has;
use crate::listen::private::Listeners;
use crate::listen::record::Record;

/// The future of one cascade, boxed: a cascade's children may cascade in turn, and the box
/// is what ends the recursion of types.
pub type CascadeFuture<'a> = Pin<Box<dyn Future<Output = Result<(), Error>> + Send + 'a>>;

/// The child's side of one cascade on one backend: given the parents' keys, reads the
/// children and deletes or updates them ([`crate::write::children`]).
pub type CascadeFn<DB> = for<'a, 'c> fn(
    &'static Cascade,
    &'a dyn Keys<DB>,
    &'a mut Session<'c, DB>,
) -> CascadeFuture<'a>;

/// The keys of the parents being deleted, as a cascade binds them: the child's side is
/// generic over the child only, so that a parent that is not a model is reported once, by
/// `schema::references`, and not again by the cascade.
pub trait Keys<DB: Backend>: Send + Sync {
    /// How many keys there are.
    fn len(&self) -> usize;
    /// Binds the keys in `range`, in order.
    fn bind<'q>(&self, query: Query<'q, DB>, range: Range<usize>) -> Query<'q, DB>;
    /// The `Vec` of keys, to compare with a child's keys when the child is the parent's
    /// own model (a tree).
    fn as_any(&self) -> &dyn Any;
}

impl<K: PrimaryKey, DB: Backend> Keys<DB> for Vec<K> {
    fn len(&self) -> usize {
        self.len()
    }

    fn bind<'q>(&self, mut query: Query<'q, DB>, range: Range<usize>) -> Query<'q, DB> {
        for key in &self[range] {
            query = key.__bind(query);
        }
        query
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// What a cascade does to the children of a deleted parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `on_delete = "cascade"`: deletes them, with their delete listeners.
    Delete,
    /// `on_delete = "set_null"`: sets their foreign key to `NULL`, with their update
    /// listeners.
    SetNull,
}

/// One `references` field with a cascade that runs listeners, as the child's derive
/// registers it.
pub struct Cascade {
    /// The parent's `TypeId::of`.
    pub parent: fn() -> TypeId,
    /// The child's `TypeId::of`.
    pub child: fn() -> TypeId,
    /// The child's listener cell: whether anything listens decides the path.
    pub cell: fn() -> &'static Listeners,
    /// The foreign key: an index into the child's `Model::COLUMNS`.
    pub column: usize,
    /// What happens to the children.
    pub action: Action,
    /// For `Action::SetNull`: sets the child's (a `&mut dyn Any`) foreign key to `NULL`;
    /// `false` if the child is not of the child's model (it always is).
    pub set_null: Option<fn(&mut dyn Any, usize) -> bool>,
    /// The child's side, one per backend.
    pub run: (CascadeFn<Sqlite>, CascadeFn<Postgres>, CascadeFn<MySql>),
}

/// Every cascade in the binary, gathered by the linker.
#[linkme::distributed_slice]
pub static CASCADES: [Cascade];

/// The most cascades one inside another: rows that reference each other in a circle (a
/// category that is its own grandparent) would cascade forever.
const MAX_DEPTH: u32 = 100;

/// The events whose listeners a cascade runs on each child; a child with none of them
/// (and, for a delete, no such children of its own) is left to the database.
const DELETE: [Event; 5] = [
    Event::BeforeDelete,
    Event::AfterDelete,
    Event::AfterDeleteCommit,
    Event::BeforeCommit,
    Event::AfterRollback,
];
const UPDATE: [Event; 5] = [
    Event::BeforeUpdate,
    Event::AfterUpdate,
    Event::AfterUpdateCommit,
    Event::BeforeCommit,
    Event::AfterRollback,
];

/// The cascades of the parent model `parent`: the slice is sorted into a map once.
fn of(parent: TypeId) -> &'static [&'static Cascade] {
    static BY_PARENT: OnceLock<HashMap<TypeId, Vec<&'static Cascade>>> = OnceLock::new();
    if CASCADES.is_empty() {
        return &[];
    }
    let by_parent = BY_PARENT.get_or_init(|| {
        let mut map: HashMap<TypeId, Vec<&'static Cascade>> = HashMap::new();
        for cascade in CASCADES.iter() {
            map.entry((cascade.parent)()).or_default().push(cascade);
        }
        map
    });
    by_parent.get(&parent).map_or(&[], Vec::as_slice)
}

impl Cascade {
    /// Whether the cascade must take the listener path now: its child listens to an event
    /// it would run, or (for a delete) one of the child's own cascades must. `seen` stops a
    /// model that cascades to itself.
    fn listened(&'static self, seen: &mut Vec<TypeId>) -> bool {
        let cell = (self.cell)();
        let events: &[Event] = match self.action {
            Action::Delete => &DELETE,
            Action::SetNull => &UPDATE,
        };
        if events.iter().any(|&event| cell_has(cell, event)) {
            return true;
        }
        let child = (self.child)();
        if self.action == Action::SetNull || seen.contains(&child) {
            return false;
        }
        seen.push(child);
        of(child).iter().any(|cascade| cascade.listened(seen))
    }
}

/// Whether some model references the model `parent` with a cascade that may run listeners
/// (whether any listens now is [`listened`]): a map lookup, for every delete.
pub(crate) fn any(parent: TypeId) -> bool {
    !of(parent).is_empty()
}

/// Whether deleting rows of the model `parent` runs a cascade through the listener path:
/// a set-based delete then reads its rows and deletes them one by one
/// ([`crate::Select::delete`]).
pub(crate) fn listened(parent: TypeId) -> bool {
    of(parent)
        .iter()
        .any(|cascade| cascade.listened(&mut vec![parent]))
}

/// Cascades the delete of the parents of model `M` with `keys` to their children, before
/// the parents' `DELETE`: see the module docs. Nothing when no child listens.
pub(crate) fn before_delete<'a, 'c, M: Record, DB: Backend>(
    keys: &'a Vec<M::__Key>,
    session: &'a mut Session<'c, DB>,
) -> impl Future<Output = Result<(), Error>> + Send + use<'a, 'c, M, DB> {
    cascade::<DB>(TypeId::of::<M>(), M::__TABLE.model, keys, session)
}

pub(crate) async fn cascade<DB: Backend>(
    parent: TypeId,
    name: &'static str,
    keys: &dyn Keys<DB>,
    session: &mut Session<'_, DB>,
) -> Result<(), Error> {
    for cascade in of(parent) {
        if !cascade.listened(&mut vec![parent]) {
            // The database's `ON DELETE` does it.
            continue;
        }
        // Several statements now: the parents' delete and their children's go together.
        session
            .begin()
            .await
            .map_err(|e| Error::from_sqlx(name, e))?;
        if *session.cascades() >= MAX_DEPTH {
            return Err(Error::Unsupported {
                model: name,
                what: "a cascade more than 100 levels deep: do rows reference each other in a \
                       circle?",
            });
        }
        *session.cascades() += 1;
        let run: CascadeFn<DB> = crate::listen::for_backend::<DB, CascadeFn<DB>>(
            &cascade.run.0,
            &cascade.run.1,
            &cascade.run.2,
        );
        // The children's statements and span are the child model's, as a cascade's.
        let child = (cascade.cell)().name;
        let children = run(cascade, keys, session);
        scope::within(child, Operation::Cascade, |()| None, children).await?;
        *session.cascades() -= 1;
    }
    Ok(())
}
