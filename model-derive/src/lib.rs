//! `#[derive(Model)]`, re-exported by `model-core`: use it from there.
//!
//! Three passes: [`ast`] parses the attributes into a typed model (syntax errors only),
//! [`valid`] checks it and resolves defaults, collecting every error with its own span, and
//! [`expand`] writes the `impl` from the checked model. On any error, [`fallback`] emits the
//! errors next to a stub impl, so the user sees the real errors and not a cascade of
//! "`Model` is not implemented" from every use of the type.

mod ast;
mod ctxt;
mod event;
mod expand;
mod fallback;
mod valid;

use proc_macro::TokenStream;
use syn::{parse_macro_input, DeriveInput};

/// See `model_core`'s crate docs.
#[proc_macro_derive(Model, attributes(model, listens_for))]
pub fn derive_model(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    let cx = ctxt::Ctxt::new();
    let parsed = ast::Input::from_syn(&cx, &input);
    let model = valid::check(&cx, parsed);
    match (cx.check(), model) {
        (Ok(()), Some(model)) => expand::expand(&model),
        (Err(errors), _) => fallback::expand(&input, errors),
        (Ok(()), None) => unreachable!("validation failed without an error"),
    }
    .into()
}
