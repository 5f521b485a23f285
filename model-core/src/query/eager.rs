//! Eager loading (issue 25): the children of many parents, or the parents of many children,
//! in one `SELECT ... WHERE key IN (..)` per chunk of keys (as many as a statement binds),
//! never one per row, with `load` listeners on every model read, as [`Select::all`] reads
//! them. What to follow comes from `BelongsTo` at the crate root, as plain functions.

use std::any::Any;
use std::collections::HashMap;
use std::fmt::Debug;

use sqlx::Acquire;

use super::filter::{Filter, Node};
use super::read::acquire;
use super::Select;
use crate::base::error::Error;
use crate::base::statements::max_binds;
use crate::db::backend::Backend;
use crate::db::key::PrimaryKey;
use crate::db::scope::{self, Operation};
use crate::listen::record::Record;

/// A key as a map's key. Model keys are `PartialEq` and `Debug`, not `Hash` (a float may
/// be a column): integer keys, by far the most common, are themselves; any other is the
/// text it prints as, since two keys are equal exactly when they print alike.
#[derive(PartialEq, Eq, Hash)]
enum Id {
    Int(i64),
    Printed(String),
}

fn id<K: Debug + 'static>(key: &K) -> Id {
    let any: &dyn Any = key;
    if let Some(&n) = any.downcast_ref::<i64>() {
        return Id::Int(n);
    }
    if let Some(&n) = any.downcast_ref::<i32>() {
        return Id::Int(i64::from(n));
    }
    Id::Printed(format!("{key:?}"))
}

/// Each parent's children: `keys` are the parents' keys in their order (`None` for one not
/// saved yet, which has none), `children_of` the filter of the children of some keys,
/// `parent_key` a child's foreign key. Each list is in the children's key order; a parent
/// listed twice gets its children in its first place. One read of `C`, as its span says.
pub(crate) async fn children<'c, C, K, A>(
    keys: Vec<Option<K>>,
    children_of: fn(Vec<K>) -> Filter<C>,
    parent_key: fn(&C) -> Option<K>,
    db: A,
) -> Result<Vec<Vec<C>>, Error>
where
    C: Record,
    K: PrimaryKey,
    A: Acquire<'c> + Send,
    A::Database: Backend,
{
    let read = children_in(keys, children_of, parent_key, db);
    let rows = |groups: &Vec<Vec<C>>| Some(groups.iter().map(Vec::len).sum());
    scope::within(C::__TABLE.model, Operation::Select, rows, read).await
}

async fn children_in<'c, C, K, A>(
    keys: Vec<Option<K>>,
    children_of: fn(Vec<K>) -> Filter<C>,
    parent_key: fn(&C) -> Option<K>,
    db: A,
) -> Result<Vec<Vec<C>>, Error>
where
    C: Record,
    K: PrimaryKey,
    A: Acquire<'c> + Send,
    A::Database: Backend,
{
    let mut groups: Vec<Vec<C>> = keys.iter().map(|_| Vec::new()).collect();
    let mut place: HashMap<Id, usize> = HashMap::with_capacity(keys.len());
    let mut unique = Vec::with_capacity(keys.len());
    for (i, key) in keys.into_iter().enumerate() {
        if let Some(key) = key {
            if let std::collections::hash_map::Entry::Vacant(entry) = place.entry(id(&key)) {
                entry.insert(i);
                unique.push(key);
            }
        }
    }
    if unique.is_empty() {
        return Ok(groups);
    }
    let mut conn = acquire::<C, A>(db).await?;
    let per_statement = max_binds(<A::Database as Backend>::DIALECT) / K::__COLUMNS;
    let mut rest = unique;
    while !rest.is_empty() {
        let later = rest.split_off(rest.len().min(per_statement));
        let plan = Select::new(Some(children_of(rest))).plan;
        for child in plan.models::<C, A::Database>(&mut conn).await? {
            let at = parent_key(&child).and_then(|key| place.get(&id(&key)).copied());
            if let Some(at) = at {
                groups[at].push(child);
            }
        }
        rest = later;
    }
    Ok(groups)
}

/// Each child's parent: `keys` are the children's foreign keys in their order, each read
/// once however many children name it (so the parent is cloned for each). `None` for a
/// `NULL` key or one that names no row. One read of `P`, as its span says.
pub(crate) async fn parents<'c, P, A>(
    keys: Vec<Option<P::__Key>>,
    db: A,
) -> Result<Vec<Option<P>>, Error>
where
    P: Record + Clone,
    A: Acquire<'c> + Send,
    A::Database: Backend,
{
    let rows = |found: &Vec<Option<P>>| Some(found.iter().flatten().count());
    scope::within(
        P::__TABLE.model,
        Operation::Select,
        rows,
        parents_in(keys, db),
    )
    .await
}

async fn parents_in<'c, P, A>(keys: Vec<Option<P::__Key>>, db: A) -> Result<Vec<Option<P>>, Error>
where
    P: Record + Clone,
    A: Acquire<'c> + Send,
    A::Database: Backend,
{
    let mut found: HashMap<Id, P> = HashMap::new();
    let mut unique: Vec<&P::__Key> = Vec::new();
    {
        let mut seen = std::collections::HashSet::new();
        for key in keys.iter().flatten() {
            if seen.insert(id(key)) {
                unique.push(key);
            }
        }
    }
    if !unique.is_empty() {
        let mut conn = acquire::<P, A>(db).await?;
        let columns = P::__Key::__COLUMNS;
        for chunk in unique.chunks(max_binds(<A::Database as Backend>::DIALECT) / columns) {
            let plan = Select::new(Some(keys_in::<P>(chunk))).plan;
            for parent in plan.models::<P, A::Database>(&mut conn).await? {
                if let Some(key) = parent.__key() {
                    found.insert(id(&key), parent);
                }
            }
        }
    }
    Ok(keys
        .iter()
        .map(|key| key.as_ref().and_then(|key| found.get(&id(key)).cloned()))
        .collect())
}

/// `key IN (..)` on `P`'s key, whose one column a foreign key references.
fn keys_in<P: Record>(keys: &[&P::__Key]) -> Filter<P> {
    let mut values = Vec::with_capacity(keys.len());
    for key in keys {
        let mut parts = Vec::new();
        key.__values(&mut parts);
        values.extend(parts.into_iter().map(|value| value.clone_box()));
    }
    Filter::new(Node::In {
        column: P::__TABLE.key[0],
        values,
    })
}
