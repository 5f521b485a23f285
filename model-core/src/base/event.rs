//! The events of a model's life, by name, and the manifest entry of one listener: what
//! errors, listeners and generated code all name.

use std::fmt;

/// A point in a model's life at which listeners run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    /// Before the `INSERT`; listeners get `&mut Model` and may change what is written.
    BeforeInsert,
    /// After the `INSERT`, in the same transaction; listeners get `&Model` with its key set.
    AfterInsert,
    /// Before the `UPDATE`; listeners get `&mut Model` and may change what is written.
    BeforeUpdate,
    /// After the `UPDATE`, in the same transaction; listeners get `&Model`.
    AfterUpdate,
    /// Before the `DELETE`; listeners get `&Model` (nothing of it is written) and may veto.
    BeforeDelete,
    /// After the `DELETE`, in the same transaction; listeners get `&Model`.
    AfterDelete,
    /// After a row was read into a model; listeners get `&mut Model`.
    Load,
    /// Right before the outermost transaction commits, inside it: once for each row written
    /// in the transaction (and not rolled back with a savepoint), in write order. Listeners
    /// get `&Model`, as it was written (a clone), and may veto the commit or, async, run SQL
    /// that commits with it.
    BeforeCommit,
    /// After the transaction that inserted the row committed; listeners get `&Model`. For
    /// effects outside the database (an email, a message) that must not happen for a write
    /// that is rolled back.
    AfterInsertCommit,
    /// After the transaction that updated the row committed; listeners get `&Model`.
    AfterUpdateCommit,
    /// After the transaction that deleted the row committed; listeners get `&Model`.
    AfterDeleteCommit,
    /// After the transaction (or savepoint) that wrote the row rolled back; listeners get
    /// `&Model` as it was written (a clone). For undoing effects outside the database that an
    /// `after_*` listener had. Runs for each row whose statement ran (its `after_insert`,
    /// `after_update` or `after_delete` point was reached) and was then rolled back, never
    /// for a committed one.
    AfterRollback,
    /// Before a query of the model runs: listeners get the [`Select`](crate::Select) and
    /// return it, narrowed (a filter, an order, a limit) as every read and set-based write
    /// of the model should see it: SQLAlchemy's `before_compile` with `retval=True`, the
    /// soft-delete and tenant filters. Runs for [`Select`](crate::Select)'s reads and
    /// set-based writes, [`Model::get`](crate::Model::get), [`Model::find`](crate::Model::find),
    /// [`Model::all`](crate::Model::all), [`Model::page`](crate::Model::page) and eager
    /// loading; not for raw SQL nor for the reads of cascades (see the guide's "Query
    /// listeners").
    BeforeQuery,
}

impl Event {
    /// Every event, in lifecycle order.
    pub const ALL: [Event; 13] = [
        Event::BeforeInsert,
        Event::AfterInsert,
        Event::BeforeUpdate,
        Event::AfterUpdate,
        Event::BeforeDelete,
        Event::AfterDelete,
        Event::Load,
        Event::BeforeCommit,
        Event::AfterInsertCommit,
        Event::AfterUpdateCommit,
        Event::AfterDeleteCommit,
        Event::AfterRollback,
        Event::BeforeQuery,
    ];

    /// The event's name as written in `#[listens_for(...)]`, e.g. `"before_insert"`.
    pub const fn name(self) -> &'static str {
        match self {
            Event::BeforeInsert => "before_insert",
            Event::AfterInsert => "after_insert",
            Event::BeforeUpdate => "before_update",
            Event::AfterUpdate => "after_update",
            Event::BeforeDelete => "before_delete",
            Event::AfterDelete => "after_delete",
            Event::Load => "load",
            Event::BeforeCommit => "before_commit",
            Event::AfterInsertCommit => "after_insert_commit",
            Event::AfterUpdateCommit => "after_update_commit",
            Event::AfterDeleteCommit => "after_delete_commit",
            Event::AfterRollback => "after_rollback",
            Event::BeforeQuery => "before_query",
        }
    }

    /// Whether listeners of this event run after the outermost commit, outside any
    /// transaction.
    pub const fn is_after_commit(self) -> bool {
        matches!(
            self,
            Event::AfterInsertCommit | Event::AfterUpdateCommit | Event::AfterDeleteCommit
        )
    }

    /// Whether listeners of this event run once the outermost transaction has ended (the
    /// `after_*_commit` events and `after_rollback`): they take no connection and cannot
    /// veto.
    pub const fn is_after_transaction(self) -> bool {
        self.is_after_commit() || matches!(self, Event::AfterRollback)
    }

    /// The event's position in [`Event::ALL`].
    pub(crate) const fn index(self) -> u32 {
        self as u32
    }

    /// Whether listeners of this event get the model mutably.
    pub const fn is_mutable(self) -> bool {
        matches!(
            self,
            Event::BeforeInsert | Event::BeforeUpdate | Event::Load
        )
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A point in a transaction's life, for listeners of the transaction itself rather than of
/// its rows ([`TransactionListeners`](crate::TransactionListeners)): SQLAlchemy's session
/// events `after_begin`, `before_commit`, `after_commit`, `after_rollback` and its savepoint
/// events. They run for the transactions model-core begins (a write on a pool or a plain
/// connection, a set-based write, [`transaction`](crate::transaction)), once per
/// transaction, never per row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransactionEvent {
    /// The outermost transaction begins, before its first statement.
    Begin,
    /// Right before the outermost `COMMIT`, inside the transaction, after the rows'
    /// `before_commit` listeners: may veto the commit, or write SQL that commits with it.
    BeforeCommit,
    /// The outermost transaction committed: with the rows it wrote, in write order.
    AfterCommit,
    /// The outermost transaction rolled back (or its commit failed): with the rows undone.
    AfterRollback,
    /// A nested [`transaction`](crate::transaction) began a savepoint.
    SavepointBegin,
    /// A savepoint was released: its rows commit with the outermost transaction.
    SavepointRelease,
    /// A savepoint was rolled back: with its rows, undone while the transaction goes on.
    SavepointRollback,
}

impl TransactionEvent {
    /// Every transaction event, in the order of a transaction's life.
    pub const ALL: [TransactionEvent; 7] = [
        TransactionEvent::Begin,
        TransactionEvent::BeforeCommit,
        TransactionEvent::AfterCommit,
        TransactionEvent::AfterRollback,
        TransactionEvent::SavepointBegin,
        TransactionEvent::SavepointRelease,
        TransactionEvent::SavepointRollback,
    ];

    /// The event's name as written in `#[model_core::listens_for(...)]` on a function,
    /// e.g. `"transaction_after_commit"`.
    pub const fn name(self) -> &'static str {
        match self {
            TransactionEvent::Begin => "transaction_begin",
            TransactionEvent::BeforeCommit => "transaction_before_commit",
            TransactionEvent::AfterCommit => "transaction_after_commit",
            TransactionEvent::AfterRollback => "transaction_after_rollback",
            TransactionEvent::SavepointBegin => "savepoint_begin",
            TransactionEvent::SavepointRelease => "savepoint_release",
            TransactionEvent::SavepointRollback => "savepoint_rollback",
        }
    }
}

impl fmt::Display for TransactionEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One entry of a model's listener manifest, [`crate::Model::LISTENERS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListenerInfo {
    /// The event it listens to.
    pub event: Event,
    /// The function's path as written in the attribute, e.g. `"audit::record_insert"`.
    pub listener: &'static str,
    /// Its position among the listeners of the same event, from 0: the order they run in.
    pub order: usize,
}
