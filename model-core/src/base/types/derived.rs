//! What `#[derive(ColumnType)]` expands to relies on, beside the traits: the errors of an
//! enum read from a value it has no variant for.

use sqlx::error::BoxDynError;

/// Longer stored text is cut in the error: it is data, and may be large.
const SHOWN: usize = 64;

/// The error of a text enum read from text none of its variants is stored as.
#[doc(hidden)]
#[cold]
pub fn unknown_text(ty: &str, text: &str, expected: &[&str]) -> BoxDynError {
    let shown: String = text.chars().take(SHOWN).collect();
    let cut = if shown.len() < text.len() { "..." } else { "" };
    format!(
        "unknown {ty} {shown:?}{cut} in the database; {ty} is stored as one of {}",
        list(expected)
    )
    .into()
}

/// The error of an integer enum read from a number none of its variants is stored as.
#[doc(hidden)]
#[cold]
pub fn unknown_number(ty: &str, number: i64, expected: &[i64]) -> BoxDynError {
    format!(
        "unknown {ty} {number} in the database; {ty} is stored as one of {}",
        list(expected)
    )
    .into()
}

fn list(items: &[impl std::fmt::Debug]) -> String {
    let items: Vec<String> = items.iter().map(|item| format!("{item:?}")).collect();
    items.join(", ")
}
