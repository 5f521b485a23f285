//! `#[derive(ColumnType)]`: a fieldless enum stored as text (or as an integer), or a newtype
//! stored as its field, on every backend.
//!
//! The same three passes as the `Model` derive: [`ast`] reads the attributes and checks them
//! into a typed [`ast::Input`] (every problem at its own span, all reported in one build),
//! and [`expand`] writes the impls from it. On any error, [`expand::fallback`] emits the
//! errors next to stub impls, so that the type's uses add no errors of their own.

mod ast;
mod expand;
mod rename;

use proc_macro2::TokenStream;
use syn::DeriveInput;

use crate::ctxt::Ctxt;

pub fn derive(input: &DeriveInput) -> TokenStream {
    let cx = Ctxt::new();
    let parsed = ast::Input::from_syn(&cx, input);
    match (cx.check(), parsed) {
        (Ok(()), Some(parsed)) => expand::expand(&parsed),
        (Err(errors), _) => expand::fallback(input, &errors),
        (Ok(()), None) => unreachable!("parsing failed without an error"),
    }
}
