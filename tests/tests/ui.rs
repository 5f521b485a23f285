//! The compile-fail suite: every diagnostic `#[derive(Model)]` and its traits emit, pinned
//! by a reviewed `.stderr`, plus hygiene cases that must compile.
//!
//! `TRYBUILD=overwrite cargo test -p model-tests --test ui` rewrites the `.stderr` files;
//! read every changed one before committing: they are the product's error messages.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("ui/fail/*.rs");
    cases.pass("ui/pass/*.rs");
}
