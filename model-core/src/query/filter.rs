//! Filters: the condition of a `WHERE`, as a tree of comparisons on one model's columns.

use std::fmt;
use std::marker::PhantomData;
use std::ops::Not;

use super::pattern::Case;
use crate::db::value::Value;

/// A condition on the rows of `M`, built from its typed columns: `p.title.eq("Hello")`,
/// combined with [`Filter::and`], [`Filter::or`] and `!` ([`Not`]).
///
/// Every value in it is bound as a parameter when the statement runs, never written into
/// the SQL. Build one in the closure given to `Model::filter`.
///
/// ```
/// # use model_core::Model;
/// # #[derive(Model)] struct Post { id: Option<i64>, title: String, views: i64 }
/// let popular_or_hello = Post::filter(|p| p.views.gt(100).or(p.title.eq("Hello")));
/// let not_hello = Post::filter(|p| !p.title.eq("Hello"));
/// # let _ = (popular_or_hello, not_hello);
/// ```
pub struct Filter<M> {
    pub(crate) node: Node,
    model: PhantomData<fn() -> M>,
}

/// The untyped tree: column indices into `Model::COLUMNS` and erased values, so that
/// rendering it is one function for every model.
#[derive(Clone)]
pub(crate) enum Node {
    Compare {
        column: usize,
        op: Op,
        value: Box<dyn Value>,
        /// For `=` and `<>` with a value that may be `None`: `None` compares as `IS NULL`
        /// (`IS NOT NULL`) instead of matching nothing.
        null_aware: bool,
    },
    /// `IS NULL`, or `IS NOT NULL` when `negated`.
    Null {
        column: usize,
        negated: bool,
    },
    /// A text pattern (`like`, `contains`, ...): a `LIKE` pattern with `\` as its escape.
    Match {
        column: usize,
        pattern: String,
        /// The same pattern as a `GLOB`, for SQLite when `case` is `Sensitive`.
        glob: Option<String>,
        case: Case,
    },
    /// `IN (...)`; an empty list matches no row.
    In {
        column: usize,
        values: Vec<Box<dyn Value>>,
    },
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Not(Box<Node>),
    /// A row of another model related to this one exists (`EXISTS (SELECT 1 FROM ...)`):
    /// its `inner` column equals this row's `outer` column, and it matches `filter`, whose
    /// columns are the other model's.
    Exists(Box<Related>),
}

/// The other side of a [`Node::Exists`].
#[derive(Clone)]
pub(crate) struct Related {
    pub(crate) table: crate::base::table::Table,
    pub(crate) inner: usize,
    pub(crate) outer: usize,
    pub(crate) filter: Node,
}

/// The column index a value of a related model's filter is reported under: it names no
/// column of the model the statement is about ([`column_name`]).
pub(crate) const RELATED_COLUMN: usize = usize::MAX;

/// The name of `table`'s column `column`, for an error about a value compared with it; a
/// value of a related model's filter ([`Node::Exists`]) is named as such.
pub(crate) fn column_name(table: crate::base::table::Table, column: usize) -> &'static str {
    table
        .columns
        .get(column)
        .copied()
        .unwrap_or("a column of a related model")
}

impl<M> Filter<M> {
    /// `EXISTS` a row of the model whose table is `table` with its column `inner` equal to
    /// this model's `outer`, matching `filter` (a filter of that model, hence `R`).
    pub(crate) fn exists<R>(
        table: crate::base::table::Table,
        inner: usize,
        outer: usize,
        filter: Filter<R>,
    ) -> Filter<M> {
        Filter::new(Node::Exists(Box::new(Related {
            table,
            inner,
            outer,
            filter: filter.node,
        })))
    }
}

/// A binary comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Op {
    pub(crate) fn sql(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "<>",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        }
    }
}

impl<M> Filter<M> {
    pub(crate) fn new(node: Node) -> Self {
        Filter {
            node,
            model: PhantomData,
        }
    }

    /// Rows that match both.
    #[must_use]
    pub fn and(self, other: Filter<M>) -> Filter<M> {
        Filter::new(Node::And(Box::new(self.node), Box::new(other.node)))
    }

    /// Rows that match either.
    #[must_use]
    pub fn or(self, other: Filter<M>) -> Filter<M> {
        Filter::new(Node::Or(Box::new(self.node), Box::new(other.node)))
    }
}

/// `!filter`: the rows `filter` does not match. As in SQL, a comparison with `NULL` is
/// neither true nor false: `!p.views.gt(3)` does not match a row whose `views` is `NULL`.
impl<M> Not for Filter<M> {
    type Output = Filter<M>;

    fn not(self) -> Filter<M> {
        Filter::new(Node::Not(Box::new(self.node)))
    }
}

impl<M> Clone for Filter<M> {
    fn clone(&self) -> Self {
        Filter::new(self.node.clone())
    }
}

impl<M> fmt::Debug for Filter<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Filter").finish_non_exhaustive()
    }
}

impl Node {
    /// Every value, in the order the rendered SQL binds them, for `__prepare`.
    pub(crate) fn values_mut<'a>(&'a mut self, out: &mut Vec<(usize, &'a mut dyn Value)>) {
        match self {
            Node::Compare { column, value, .. } => out.push((*column, &mut **value)),
            Node::Null { .. } => {}
            Node::Match {
                column, pattern, ..
            } => out.push((*column, pattern)),
            Node::In { column, values } => {
                out.extend(
                    values
                        .iter_mut()
                        .map(|v| (*column, &mut **v as &mut dyn Value)),
                );
            }
            Node::And(a, b) | Node::Or(a, b) => {
                a.values_mut(out);
                b.values_mut(out);
            }
            Node::Not(inner) => inner.values_mut(out),
            Node::Exists(related) => {
                let mut inner = Vec::new();
                related.filter.values_mut(&mut inner);
                out.extend(inner.into_iter().map(|(_, v)| (RELATED_COLUMN, v)));
            }
        }
    }

    /// Replaces the value every comparison of `column` binds (`=`, `<>`, `<`, `<=`, `>`,
    /// `>=`; an `IN` list becomes the one value) with `value`, and returns how many it
    /// replaced: [`Select::rebind`](super::Select::rebind). `null_aware` is the
    /// `null_aware` of an `=` or `<>` with the new value. Patterns, `IS NULL` and a related
    /// model's filter (other columns) are left as they are.
    pub(crate) fn rebind(&mut self, target: usize, new: &dyn Value, may_be_null: bool) -> usize {
        match self {
            Node::Compare {
                column,
                op,
                value,
                null_aware,
            } if *column == target => {
                *value = new.clone_box();
                *null_aware = matches!(op, Op::Eq | Op::Ne) && may_be_null;
                1
            }
            Node::In { column, values } if *column == target => {
                *values = vec![new.clone_box()];
                1
            }
            Node::And(a, b) | Node::Or(a, b) => {
                a.rebind(target, new, may_be_null) + b.rebind(target, new, may_be_null)
            }
            Node::Not(inner) => inner.rebind(target, new, may_be_null),
            Node::Compare { .. }
            | Node::In { .. }
            | Node::Null { .. }
            | Node::Match { .. }
            | Node::Exists(_) => 0,
        }
    }

    /// The first pattern that cannot be sent, with its column: see [`super::pattern::check`].
    pub(crate) fn check_patterns(&self) -> Result<(), (usize, &'static str)> {
        match self {
            Node::Match {
                column, pattern, ..
            } => super::pattern::check(pattern).map_err(|reason| (*column, reason)),
            Node::And(a, b) | Node::Or(a, b) => {
                a.check_patterns()?;
                b.check_patterns()
            }
            Node::Not(inner) => inner.check_patterns(),
            Node::Exists(related) => related
                .filter
                .check_patterns()
                .map_err(|(_, reason)| (RELATED_COLUMN, reason)),
            Node::Compare { .. } | Node::Null { .. } | Node::In { .. } => Ok(()),
        }
    }

    /// How many values the rendered condition binds.
    pub(crate) fn bind_count(&self) -> usize {
        match self {
            // `= v OR (IS NULL AND v IS NULL)` binds the value twice.
            Node::Compare { null_aware, .. } => 1 + usize::from(*null_aware),
            Node::Null { .. } => 0,
            Node::Match { .. } => 1,
            Node::In { values, .. } => values.len(),
            Node::And(a, b) | Node::Or(a, b) => a.bind_count() + b.bind_count(),
            Node::Not(inner) => inner.bind_count(),
            Node::Exists(related) => related.filter.bind_count(),
        }
    }
}
