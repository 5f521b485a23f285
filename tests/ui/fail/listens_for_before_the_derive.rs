//! Imported by name and written before `#[derive(Model)]`, a struct's `#[listens_for]` could
//! be the imported attribute macro or the derive's helper: rustc refuses it (E0659). After
//! the derive, where it belongs, it is the helper (`ui/pass/listens_for_imported_beside_the_derive.rs`).

use model_core::listens_for;
use model_core::Model;

#[listens_for(before_insert, stamp)]
#[derive(Model)]
struct Post {
    id: Option<i64>,
}

fn stamp(_: &mut Post) {}

fn main() {}
