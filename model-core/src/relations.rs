//! Related rows through the model (issue 25): a model that `references` another belongs to
//! it, and [`Model::children`](crate::Model::children),
//! [`Model::parent`](crate::Model::parent) and eager loading follow that field. The crate
//! root, beside `Model`, which it does not import (a model is a [`Record`] here): uses the
//! query layer for the children's filter.

use crate::db::key::PrimaryKey;
use crate::listen::record::Record;
use crate::query::Filter;

/// `Self` has a foreign key to `P`: one field `#[model(references = P)]`, which
/// `#[derive(Model)]` implements this for. [`Model::children`](crate::Model::children)
/// (a post's comments), [`Model::parent`](crate::Model::parent) (a comment's post) and
/// eager loading follow it.
///
/// ```
/// use model_core::Model;
///
/// #[derive(Model)]
/// struct Post { id: Option<i64>, title: String }
///
/// #[derive(Model)]
/// struct Comment {
///     id: Option<i64>,
///     #[model(references = Post, on_delete = "cascade")]
///     post_id: i64,
///     text: String,
/// }
///
/// # async fn demo(pool: sqlx::SqlitePool) -> Result<(), model_core::Error> {
/// let post = Post::get(&pool, 1).await?;
/// let comments = post.children::<Comment>().order_by(|c| c.id).all(&pool).await?;
/// let back: Option<Post> = comments[0].parent(&pool).await?;
/// # let _ = back; Ok(()) }
/// ```
///
/// A model that references `P` from several fields (a message's `sender_id` and
/// `recipient_id`) does not implement it for `P`: which one to follow is the caller's to
/// say, with a filter (`Message::filter(|m| m.sender_id.eq(user_id))`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not belong to `{P}`",
    label = "`{Self}` has no field `#[model(references = {P})]` to follow",
    note = "`children`, `parent` and eager loading follow the one field of the child model marked `#[model(references = {P})]`",
    note = "if `{Self}` references `{P}` from several fields, none is followed: filter by the one you mean, `{Self}::filter(|row| row.that_field.eq(key))`"
)]
pub trait BelongsTo<P>: Record {
    /// The foreign key's type without its `Option`: `P::Key`, which `schema::references`
    /// checks, on the same field. Named here from the field alone, so that a parent that is
    /// no model is reported once, there, and not again here.
    #[doc(hidden)]
    type __ParentKey: PrimaryKey;

    /// The foreign key: an index into `Model::COLUMNS`.
    #[doc(hidden)]
    const __FOREIGN_KEY: usize;

    /// The rows whose foreign key is one of `keys`.
    #[doc(hidden)]
    fn __children_of(keys: Vec<Self::__ParentKey>) -> Filter<Self>;

    /// The foreign key's value: the parent's key, `None` when it is `NULL`.
    #[doc(hidden)]
    fn __parent_key(&self) -> Option<Self::__ParentKey>;
}

/// `value` as a `T`: the parent's key as the child's foreign key type, or back, which are
/// one type (`schema::references` requires it of every `references` field that compiles).
pub(crate) fn same_type<T: 'static>(value: impl std::any::Any) -> T {
    let value: Box<dyn std::any::Any> = Box::new(value);
    *value.downcast::<T>().unwrap_or_else(|_| {
        panic!(
            "a foreign key's type is the referenced key's type, or its `Option` written \
             `Option<..>` (not behind a type alias)"
        )
    })
}
