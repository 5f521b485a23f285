//! Change sets: what an update of a `#[model(track_changes)]` model changes, field by field,
//! for the update to write and for its listeners to read.
//!
//! A derive cannot add a field to the user's struct, so the original values live beside
//! the model: in a [`Tracked`] wrapper, which keeps a copy of the model as it was read (or
//! last written), or, for an update of the bare model, in the stored row, which the update
//! reads first. The derive writes the change set type (`PostChanges` for `Post`), one typed
//! accessor per column field, and [`TrackChanges`]; models without the attribute get none
//! of it and pay nothing.
//!
//! `before_update` and `after_update` listeners of such a model may take the change set
//! after the model ([`BeforeUpdateListener`], [`AfterUpdateListener`]); the shapes without
//! it work as for any model.

use std::future::{ready, Future};

use crate::base::error::{BoxError, Error};
use crate::db::backend::{Backend, Query};
use crate::db::conn::Conn;
use crate::db::session::Session;
use crate::listen::listener::{Event, Failure, ListenerResult, MutListener, RefListener};
use crate::listen::record::Record;
use crate::write::tracked::Tracked;

/// One field's change: the value it had when the model was read or last written (`old`),
/// and the value the update writes (`new`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changed<T> {
    /// The stored value before the update.
    pub old: T,
    /// The value the update writes.
    pub new: T,
}

/// A model with `#[model(track_changes)]`: its updates write only the columns that changed,
/// and its update listeners can take the change set.
///
/// Implemented by the derive. Each column type must be `PartialEq` (to tell what changed);
/// to be [`Tracked`], the model must be `Clone` (a tracked model keeps a copy of its
/// original values).
///
/// ```
/// use model_core::{ChangeSet, Model, TrackChanges};
///
/// #[derive(Clone, Model)]
/// #[model(track_changes)]
/// #[listens_for(before_update, reslug)]
/// struct Post { id: Option<i64>, title: String, slug: String }
///
/// /// Runs on every update; the slug follows the title only when the title changed.
/// fn reslug(post: &mut Post, changes: &PostChanges) {
///     if let Some(title) = changes.title() {
///         post.slug = title.new.to_lowercase().replace(' ', "-");
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let pool = sqlx::SqlitePool::connect("sqlite::memory:").await?;
/// # sqlx::query("CREATE TABLE post (id INTEGER PRIMARY KEY, title TEXT NOT NULL, slug TEXT NOT NULL)").execute(&pool).await?;
/// # Post { id: Some(1), title: "Hello".into(), slug: "hello".into() }.insert(&pool).await?;
/// let mut post = Post::get(&pool, 1).await?.track();
/// assert!(post.changes().is_empty());
/// post.title = "Hello World".into();
/// post.update(&pool).await?; // UPDATE post SET title = ?, slug = ? WHERE id = ?
/// assert_eq!(Post::get(&pool, 1).await?.slug, "hello-world");
/// # Ok(()) }
/// ```
pub trait TrackChanges: Record {
    /// The change set: `PostChanges` for `Post`, beside the model and as visible as it, with
    /// one method per column field but the key (and the version column), named after the
    /// field: `changes.title()` is `Some(&Changed { old, new })` if the title changed.
    type Changes: ChangeSet;

    /// What changed from `original` to `current`.
    #[doc(hidden)]
    fn __changes(original: &Self, current: &Self) -> Self::Changes;

    /// Binds the changed columns' values, in column order.
    #[doc(hidden)]
    fn __bind_changes<'q, DB: Backend>(
        &self,
        changes: &Self::Changes,
        query: Query<'q, DB>,
    ) -> Query<'q, DB>;

    /// Gives `original` the new values of `changes`, once they are written.
    #[doc(hidden)]
    fn __apply(original: &mut Self, changes: Self::Changes);

    /// Gives `original` the `#[model(generated)]` columns of `current`, which an update
    /// read back: they are never in a change set.
    #[doc(hidden)]
    fn __copy_generated(original: &mut Self, current: &Self) {
        let _ = (original, current);
    }

    /// Runs the `before_update` listeners, in declaration order.
    #[doc(hidden)]
    fn __before_update<'a, DB: Backend>(
        &'a mut self,
        changes: &'a Self::Changes,
        session: &'a mut Session<'_, DB>,
    ) -> impl Future<Output = Result<(), Error>> + Send + 'a {
        let _ = (changes, session);
        ready(Ok(()))
    }

    /// Runs the `after_update` listeners, in declaration order.
    #[doc(hidden)]
    fn __after_update<'a, DB: Backend>(
        &'a self,
        changes: &'a Self::Changes,
        session: &'a mut Session<'_, DB>,
    ) -> impl Future<Output = Result<(), Error>> + Send + 'a {
        let _ = (changes, session);
        ready(Ok(()))
    }

    /// This model with its current values as the original ones: call it on a model as it
    /// was read or written. Its updates then write only what changed since.
    fn track(self) -> Tracked<Self>
    where
        Self: Clone,
    {
        Tracked::new(self)
    }
}

/// What every change set can say about itself (a trait, so that no field's accessor can
/// clash with these names): `use model_core::ChangeSet` to call them.
///
/// (It names no model: a change set stands on its own, so that an error in the model's
/// field types is reported once, at the field, and not again through its change set.)
pub trait ChangeSet: Send + Sync + Unpin + Sized + 'static {
    /// The model's column names, `Model::COLUMNS`.
    #[doc(hidden)]
    const __COLUMNS: &'static [&'static str];

    /// Calls `each` with the index in `COLUMNS` of each changed column, in column order.
    #[doc(hidden)]
    fn __each_changed(&self, each: &mut dyn FnMut(usize));

    /// Whether no column changed.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many columns changed.
    fn len(&self) -> usize {
        let mut count = 0;
        self.__each_changed(&mut |_| count += 1);
        count
    }

    /// The changed columns' names, in column order: for a log or an audit row.
    fn columns(&self) -> Vec<&'static str> {
        let mut names = Vec::new();
        self.__each_changed(&mut |i| names.push(Self::__COLUMNS[i]));
        names
    }
}

/// A function that can listen to `before_update` of a `#[model(track_changes)]` model `M`
/// whose change set is `C`.
///
/// Implemented for the [`MutListener`] shapes, and for the same shapes taking `&C` after
/// the model (`E: Into<Box<dyn Error + Send + Sync>>`):
/// - `fn(&mut M, &C)`
/// - `fn(&mut M, &C) -> Result<(), E>`
/// - `async fn(&mut M, &C, &mut Conn<DB>) -> Result<(), E>`, generic over `DB: Backend`.
///
/// The change set is what changed since the model was read; what the listener changes
/// shows in the change set `after_update` gets.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a before_update listener of `{M}`",
    label = "expected `fn(&mut {M}, &{C})`, `fn(&mut {M}, &{C}) -> Result<(), E>` or `async fn(&mut {M}, &{C}, &mut Conn<DB>) -> Result<(), E>`, or one of them without `&{C}`",
    note = "before_update listeners get the model as `&mut {M}` so that they can change it, and may take its change set after it"
)]
pub trait BeforeUpdateListener<M, C, DB: Backend, Marker> {
    /// Calls the listener.
    fn call<'a>(
        &'a self,
        model: &'a mut M,
        changes: &'a C,
        session: &'a mut Session<'_, DB>,
    ) -> impl Future<Output = Result<(), Failure>> + Send + 'a;
}

/// A function that can listen to `after_update` of a `#[model(track_changes)]` model `M`
/// whose change set is `C`: the [`RefListener`] shapes, and `fn(&M, &C)`, `fn(&M, &C) ->
/// Result<(), E>` and `async fn(&M, &C, &mut Conn<DB>) -> Result<(), E>`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an after_update listener of `{M}`",
    label = "expected `fn(&{M}, &{C})`, `fn(&{M}, &{C}) -> Result<(), E>` or `async fn(&{M}, &{C}, &mut Conn<DB>) -> Result<(), E>`, or one of them without `&{C}`",
    note = "after_update listeners get the model as `&{M}`: a change made there would never be written"
)]
pub trait AfterUpdateListener<M, C, DB: Backend, Marker> {
    /// Calls the listener.
    fn call<'a>(
        &'a self,
        model: &'a M,
        changes: &'a C,
        session: &'a mut Session<'_, DB>,
    ) -> impl Future<Output = Result<(), Failure>> + Send + 'a;
}

/// Markers that keep the change-set listener implementations apart; never named by users.
#[doc(hidden)]
pub mod marker {
    use std::marker::PhantomData;

    /// A listener shape without the change set, whose own marker is `M`.
    pub struct Without<M>(PhantomData<M>);
    /// `fn(&mut M, &C)` / `fn(&M, &C)`.
    pub struct Plain;
    /// `fn(.., &C) -> Result<(), E>`.
    pub struct Fallible<E>(PhantomData<E>);
    /// `async fn(.., &C, &mut Conn<DB>) -> Result<(), E>`.
    pub struct Async;
}

/// Names the future of an async `before_update` listener taking the change set, for every
/// borrow lifetime (as [`crate::AsyncMutFn`] does without it).
#[doc(hidden)]
pub trait AsyncBeforeUpdateFn<'a, M: 'a, C: 'a, DB: Backend>:
    Fn(&'a mut M, &'a C, &'a mut Conn<DB>) -> Self::Fut
{
    type Fut: Future<Output = Self::Out> + Send + 'a;
    type Out;
}

impl<'a, M: 'a, C: 'a, DB: Backend, F, Fut> AsyncBeforeUpdateFn<'a, M, C, DB> for F
where
    F: Fn(&'a mut M, &'a C, &'a mut Conn<DB>) -> Fut,
    Fut: Future + Send + 'a,
{
    type Fut = Fut;
    type Out = Fut::Output;
}

#[doc(hidden)]
pub trait AsyncAfterUpdateFn<'a, M: 'a, C: 'a, DB: Backend>:
    Fn(&'a M, &'a C, &'a mut Conn<DB>) -> Self::Fut
{
    type Fut: Future<Output = Self::Out> + Send + 'a;
    type Out;
}

impl<'a, M: 'a, C: 'a, DB: Backend, F, Fut> AsyncAfterUpdateFn<'a, M, C, DB> for F
where
    F: Fn(&'a M, &'a C, &'a mut Conn<DB>) -> Fut,
    Fut: Future + Send + 'a,
{
    type Fut = Fut;
    type Out = Fut::Output;
}

/// Implements one of the change-set listener traits: the shapes of `$without` (ignoring
/// the change set), and the three shapes taking it. `mut` makes the model `&mut M`.
macro_rules! change_listener_impls {
    ($trait:ident, $without:ident, $async_fn:ident $(, $mut:ident)?) => {
        impl<M, C, DB: Backend, F, Inner> $trait<M, C, DB, marker::Without<Inner>> for F
        where
            F: $without<M, DB, Inner>,
        {
            fn call<'a>(
                &'a self,
                model: &'a $($mut)? M,
                _changes: &'a C,
                session: &'a mut Session<'_, DB>,
            ) -> impl Future<Output = Result<(), Failure>> + Send + 'a {
                $without::call(self, model, session)
            }
        }

        impl<M: Send + Sync, C: Sync, DB: Backend, F> $trait<M, C, DB, marker::Plain> for F
        where
            F: Fn(& $($mut)? M, &C) + Sync,
        {
            fn call<'a>(
                &'a self,
                model: &'a $($mut)? M,
                changes: &'a C,
                _session: &'a mut Session<'_, DB>,
            ) -> impl Future<Output = Result<(), Failure>> + Send + 'a {
                self(model, changes);
                ready(Ok(()))
            }
        }

        impl<M: Send + Sync, C: Sync, DB: Backend, F, E> $trait<M, C, DB, marker::Fallible<E>>
            for F
        where
            F: Fn(& $($mut)? M, &C) -> Result<(), E> + Sync,
            E: Into<BoxError>,
        {
            fn call<'a>(
                &'a self,
                model: &'a $($mut)? M,
                changes: &'a C,
                _session: &'a mut Session<'_, DB>,
            ) -> impl Future<Output = Result<(), Failure>> + Send + 'a {
                ready(self(model, changes).map_err(|e| Failure::Listener(e.into())))
            }
        }

        impl<M: Send + Sync, C: Sync, DB: Backend, F> $trait<M, C, DB, marker::Async> for F
        where
            F: for<'a> $async_fn<'a, M, C, DB> + Sync,
            for<'a> <F as $async_fn<'a, M, C, DB>>::Out: ListenerResult,
        {
            fn call<'a>(
                &'a self,
                model: &'a $($mut)? M,
                changes: &'a C,
                session: &'a mut Session<'_, DB>,
            ) -> impl Future<Output = Result<(), Failure>> + Send + 'a {
                async move {
                    // As for the other async shapes: the listener may run SQL, inside the
                    // write's transaction, begun now if it was not yet.
                    session.begin().await.map_err(Failure::Begin)?;
                    self(model, changes, session.conn())
                        .await
                        .into_listener_result()
                        .map_err(Failure::Listener)
                }
            }
        }
    };
}

change_listener_impls!(BeforeUpdateListener, MutListener, AsyncBeforeUpdateFn, mut);
change_listener_impls!(AfterUpdateListener, RefListener, AsyncAfterUpdateFn);

/// `Some` with both values if `old` and `new` differ: one field of a change set.
#[doc(hidden)]
#[inline]
pub fn changed<T: PartialEq + Clone>(old: &T, new: &T) -> Option<Changed<T>> {
    (old != new).then(|| Changed {
        old: old.clone(),
        new: new.clone(),
    })
}

/// Calls one `before_update` listener of a change-tracking model, naming it in the error.
#[doc(hidden)]
#[inline]
pub async fn call_before_update<M, C, DB, Marker, L>(
    listener: &L,
    model: &mut M,
    changes: &C,
    session: &mut Session<'_, DB>,
    name: &'static str,
) -> Result<(), Error>
where
    M: Record,
    DB: Backend,
    L: BeforeUpdateListener<M, C, DB, Marker>,
{
    listener
        .call(model, changes, session)
        .await
        .map_err(|failure| failure.into_error::<M>(Event::BeforeUpdate, name))
}

/// Calls one `after_update` listener of a change-tracking model, naming it in the error.
#[doc(hidden)]
#[inline]
pub async fn call_after_update<M, C, DB, Marker, L>(
    listener: &L,
    model: &M,
    changes: &C,
    session: &mut Session<'_, DB>,
    name: &'static str,
) -> Result<(), Error>
where
    M: Record,
    DB: Backend,
    L: AfterUpdateListener<M, C, DB, Marker>,
{
    listener
        .call(model, changes, session)
        .await
        .map_err(|failure| failure.into_error::<M>(Event::AfterUpdate, name))
}
