//! Reading a model's columns out of a row: where each one is; and the rows a `before_query`
//! listener answered a query with instead.

use std::any::Any;

/// Where each of a model's columns is in a row: at its own position in `Model::COLUMNS`
/// (the rows of model-core's own statements), or wherever a raw statement put it.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct ColumnMap<'a>(pub(crate) Option<&'a [usize]>);

impl ColumnMap<'_> {
    /// Every column at its own position.
    pub const POSITIONAL: ColumnMap<'static> = ColumnMap(None);

    /// The position in the row of `Model::COLUMNS[column]`.
    #[inline]
    pub fn at(self, column: usize) -> usize {
        match self.0 {
            Some(map) => map[column],
            None => column,
        }
    }
}

/// The rows a `before_query` listener answered a query with (`Select::answer`): a `Vec` of
/// the model kept without its type, with the functions that clone it and move it out, made
/// where the rows were given, so that the typed code is compiled for the models that answer,
/// not for every model that reads (issue 28: compile cost per model).
pub(crate) struct Answer {
    rows: Box<dyn Any + Send + Sync>,
    clone: fn(&(dyn Any + Send + Sync)) -> Box<dyn Any + Send + Sync>,
    take: fn(Box<dyn Any + Send + Sync>, &mut dyn Any),
}

impl Answer {
    /// `rows`, answered.
    pub(crate) fn new<M: Clone + Send + Sync + 'static>(rows: Vec<M>) -> Answer {
        Answer {
            rows: Box::new(rows),
            clone: |rows| {
                let rows: &Vec<M> = rows.downcast_ref().expect("an answer holds its rows");
                Box::new(rows.clone())
            },
            take: |rows, into| {
                let rows: Box<Vec<M>> = rows.downcast().expect("an answer holds its rows");
                let into: &mut Vec<M> = into
                    .downcast_mut()
                    .expect("a model's query is answered with that model's rows");
                *into = *rows;
            },
        }
    }

    /// The rows, into `into` (a `Vec` of the model).
    pub(crate) fn take(self, into: &mut dyn Any) {
        (self.take)(self.rows, into);
    }
}

impl Clone for Answer {
    fn clone(&self) -> Answer {
        Answer {
            rows: (self.clone)(&*self.rows),
            clone: self.clone,
            take: self.take,
        }
    }
}
