//! Reading a model's columns out of a row: where each one is.

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
