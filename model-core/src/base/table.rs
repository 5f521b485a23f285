//! A model's table as statements need it: its constants, untyped, so that writing SQL is one
//! function for every model rather than one per model.

/// The table of one model: what `#[derive(Model)]` declares, as plain data
/// (`Record::__TABLE`). Not part of the public API.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Table {
    /// The model's name, for errors: `"Post"`.
    pub model: &'static str,
    /// The schema, if the model names one.
    pub schema: Option<&'static str>,
    /// The table's name, unquoted.
    pub name: &'static str,
    /// The column names, unquoted, in field order.
    pub columns: &'static [&'static str],
    /// The primary key's columns: indices into `columns`.
    pub key: &'static [usize],
    /// The `#[model(version)]` column, if there is one.
    pub version: Option<usize>,
}
