//! Text patterns: `LIKE` as the user writes it, and the escaped patterns of `contains`,
//! `starts_with` and `ends_with`, with the case rule each backend is told to follow.
//!
//! A pattern is held as a `LIKE` pattern whose escape character is `\` (the default of
//! PostgreSQL and MySQL, given to SQLite with `ESCAPE '\'`), plus, for SQLite's
//! case-sensitive matches, the same pattern as a `GLOB` (SQLite's `LIKE` folds ASCII case
//! and cannot be told otherwise per statement).

/// How a pattern treats letter case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Case {
    /// The backend's own `LIKE`: sensitive on PostgreSQL, ASCII-insensitive on SQLite, the
    /// column's collation on MySQL. What [`like`](super::Column::like) has always done.
    Backend,
    /// Sensitive on every backend: `contains`, `starts_with`, `ends_with`.
    Sensitive,
    /// Insensitive on every backend: `ilike`, `icontains`, ... (SQLite folds ASCII letters
    /// only, having no Unicode tables without ICU).
    Insensitive,
}

/// Where literal text must occur in a column, for [`literal`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum Anchor {
    Anywhere,
    Start,
    End,
}

/// The `LIKE` pattern that matches `text` literally at `anchor`: `%`, `_` and `\` in it are
/// escaped.
pub(crate) fn literal(text: &str, anchor: Anchor) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    if matches!(anchor, Anchor::Anywhere | Anchor::End) {
        pattern.push('%');
    }
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    if matches!(anchor, Anchor::Anywhere | Anchor::Start) {
        pattern.push('%');
    }
    pattern
}

/// Why a user's `LIKE` pattern cannot be sent: one ending in a lone `\` escapes nothing,
/// which PostgreSQL refuses and SQLite and MySQL match against nothing.
pub(crate) fn check(pattern: &str) -> Result<(), &'static str> {
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c == '\\' && chars.next().is_none() {
            return Err(r"a LIKE pattern cannot end in a lone `\` (write `\\` for a backslash)");
        }
    }
    Ok(())
}

/// The `GLOB` pattern with the meaning of `LIKE` pattern `like` (escape `\`), for SQLite's
/// case-sensitive matches: `%` is `*`, `_` is `?`, and GLOB's own `*`, `?` and `[` are
/// bracketed to stand for themselves.
pub(crate) fn glob(like: &str) -> String {
    let mut glob = String::with_capacity(like.len() + 4);
    let mut chars = like.chars();
    while let Some(c) = chars.next() {
        let literal = match c {
            '%' => {
                glob.push('*');
                continue;
            }
            '_' => {
                glob.push('?');
                continue;
            }
            '\\' => match chars.next() {
                Some(next) => next,
                None => break,
            },
            other => other,
        };
        match literal {
            '*' | '?' | '[' => {
                glob.push('[');
                glob.push(literal);
                glob.push(']');
            }
            other => glob.push(other),
        }
    }
    glob
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_text_is_escaped() {
        assert_eq!(literal(r"50% off_\", Anchor::Anywhere), r"%50\% off\_\\%");
        assert_eq!(literal("ab", Anchor::Start), "ab%");
        assert_eq!(literal("ab", Anchor::End), "%ab");
    }

    #[test]
    fn a_lone_trailing_backslash_is_refused() {
        assert!(check(r"abc\").is_err());
        assert!(check(r"abc\\").is_ok());
        assert!(check(r"a\%").is_ok());
        assert!(check(r"\\\").is_err());
    }

    #[test]
    fn like_becomes_glob() {
        assert_eq!(glob(r"%a_b\%c*[?%"), "*a?b%c[*][[][?]*");
        assert_eq!(glob(r"x\\y"), r"x\y");
    }
}
