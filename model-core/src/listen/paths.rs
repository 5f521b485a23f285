//! Which function a listener's path names, so that one function reached by two paths runs
//! once per event: `f` and `self::f` on the struct, or a function named on the struct that
//! also carries `#[listens_for]`.
//!
//! A struct-side listener is known by its path as written and the module the derive ran in
//! (`module_path!()`); a function-side one by `module_path!()` and its name. A path is
//! resolved as the compiler would for the common forms: `f` and `self::f` in the module,
//! `super::f` in its parent, `crate::a::f` from the crate root, and `a::f` either in the
//! module or from an extern crate (both are tried). A function imported with `use` and named
//! by its local name is not followed to where it lives: named both ways, it runs twice.

/// The full paths `written` may name from `module`: one, or two for a relative path of
/// several segments (a child module's item, or an extern crate's).
pub(crate) fn resolve(module: &str, written: &str) -> Vec<String> {
    let written = without_generics(written.trim_start_matches("::"));
    let mut segments: Vec<&str> = written.split("::").collect();
    let mut base: Vec<&str> = module.split("::").collect();
    match segments.first().copied() {
        Some("crate") => {
            base.truncate(1);
            segments.remove(0);
        }
        Some("self") => {
            segments.remove(0);
        }
        Some("super") => {
            while segments.first() == Some(&"super") {
                segments.remove(0);
                base.pop();
            }
        }
        _ if segments.len() > 1 => {
            let local = [base.as_slice(), segments.as_slice()].concat().join("::");
            return vec![local, segments.join("::")];
        }
        _ => {}
    }
    vec![[base.as_slice(), segments.as_slice()].concat().join("::")]
}

/// `audit::<Sqlite>` as `audit`: the generic arguments of a path do not change its function.
fn without_generics(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut depth = 0usize;
    for c in path.chars() {
        match c {
            '<' => depth += 1,
            '>' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out.trim_end_matches("::").to_owned()
}

#[cfg(test)]
mod tests {
    use super::resolve;

    #[test]
    fn paths_resolve_from_the_module() {
        let m = "app::model";
        assert_eq!(resolve(m, "f"), ["app::model::f"]);
        assert_eq!(resolve(m, "self::f"), ["app::model::f"]);
        assert_eq!(resolve(m, "crate::model::f"), ["app::model::f"]);
        assert_eq!(resolve(m, "super::f"), ["app::f"]);
        assert_eq!(resolve(m, "super::super::f"), ["f"]);
        assert_eq!(resolve(m, "audit::f"), ["app::model::audit::f", "audit::f"]);
        assert_eq!(
            resolve(m, "::audit::f"),
            ["app::model::audit::f", "audit::f"]
        );
        assert_eq!(resolve(m, "audit::<DB>"), ["app::model::audit"]);
        assert_eq!(
            resolve(m, "self::audit::<sqlx::Sqlite>"),
            ["app::model::audit"]
        );
    }
}
