//! Imported by name, the attribute macro `listens_for` shares its name with
//! `#[derive(Model)]`'s helper attribute. After the derive, the struct's `#[listens_for]` is
//! the derive's (rustc resolves a helper of a derive on the item before other attributes of
//! that name), and the function's is the attribute macro: both work in one module. Before
//! the derive, the struct's would be the attribute macro: see
//! `ui/fail/listens_for_before_the_derive.rs`.

use model_core::listens_for;
use model_core::{Event, Model};

#[derive(Model)]
#[listens_for(before_insert, stamp)]
struct Post {
    id: Option<i64>,
}

#[listens_for(after_insert)]
fn audit(_: &Post) {}

fn stamp(_: &mut Post) {}

fn main() {
    let before: Vec<_> = Post::listeners(Event::BeforeInsert)
        .map(|l| l.listener)
        .collect();
    assert_eq!(before, ["stamp"]);
    // Named by module path: trybuild names the crate.
    let after: Vec<_> = Post::listeners(Event::AfterInsert)
        .map(|l| l.listener)
        .collect();
    assert!(
        matches!(after[..], [name] if name.ends_with("::audit")),
        "{after:?}"
    );
}
