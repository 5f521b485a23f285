//! `#[derive(Model)]`, re-exported by `model-core`: use it from there.
//!
//! Three passes: [`ast`] parses the attributes into a typed model (syntax errors only),
//! [`valid`] checks it and resolves defaults, collecting every error with its own span, and
//! [`expand`] writes the `impl` from the checked model. On any error, [`fallback`] emits the
//! errors next to a stub impl, so the user sees the real errors and not a cascade of
//! "`Model` is not implemented" from every use of the type.

mod ast;
mod column_type;
mod configure_listener;
mod ctxt;
mod event;
mod expand;
mod fallback;
mod listens_for;
mod query_listener;
mod transaction_listener;
mod valid;

use proc_macro::TokenStream;

/// Generated code with every `self` and every `__`-prefixed name (the derive's locals,
/// parameters and hidden items) resolved where the derive runs, wherever it is located.
///
/// Code spanned at a user's token, so that a type error points at that token, also takes
/// that token's hygiene: when the token came from the user's `macro_rules!`, the derive's
/// own `__queue` or `self` would be looked up in the macro's scope and not be found. Only
/// the resolution moves: errors still point where they did.
pub(crate) fn hygienic(tokens: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    use proc_macro2::{Group, Span, TokenTree};
    tokens
        .into_iter()
        .map(|token| match token {
            TokenTree::Ident(mut ident) => {
                let name = ident.to_string();
                if name == "self" || name.starts_with("__") {
                    ident.set_span(ident.span().resolved_at(Span::call_site()));
                }
                TokenTree::Ident(ident)
            }
            TokenTree::Group(group) => {
                let mut inner = Group::new(group.delimiter(), hygienic(group.stream()));
                inner.set_span(group.span());
                TokenTree::Group(inner)
            }
            other => other,
        })
        .collect()
}

use syn::{parse_macro_input, DeriveInput};

/// See `model_core`'s crate docs.
#[proc_macro_derive(Model, attributes(model, listens_for))]
pub fn derive_model(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    let cx = ctxt::Ctxt::new();
    let parsed = ast::Input::from_syn(&cx, &input);
    let model = valid::check(&cx, parsed);
    match (cx.check(), model) {
        (Ok(()), Some(model)) => hygienic(expand::expand(&model)),
        (Err(errors), _) => fallback::expand(&input, errors),
        (Ok(()), None) => unreachable!("validation failed without an error"),
    }
    .into()
}

/// `#[derive(ColumnType)]`: see `model_core`'s docs of the derive.
#[proc_macro_derive(ColumnType, attributes(column))]
pub fn derive_column_type(input: TokenStream) -> TokenStream {
    column_type::derive(&parse_macro_input!(input as DeriveInput)).into()
}

/// A listener declared on the function itself, SQLAlchemy's `@event.listens_for(Post,
/// 'before_insert')`: the model is the first argument's type, or named first.
///
/// (Not run here, where `model_core` is not a dependency; the README's section "Listeners
/// where they live" runs the same forms.)
///
/// ```ignore
/// use model_core::{AnyModel, Backend, Conn, Model};
/// # #[derive(Debug, Clone, Model)]
/// # struct Post { id: Option<i64>, title: String, stamped: bool }
///
/// #[model_core::listens_for(before_insert)]
/// fn stamp(post: &mut Post) {
///     post.stamped = true;
/// }
///
/// /// Named model: for a generic function, or to be explicit.
/// #[model_core::listens_for(Post, after_insert)]
/// async fn audit<DB: Backend>(post: &Post, conn: &mut Conn<DB>) -> Result<(), model_core::Error> {
///     let _ = (post, conn);
///     Ok(())
/// }
///
/// /// Every model: `&dyn AnyModel`.
/// #[model_core::listens_for(after_delete)]
/// fn log_delete(model: &dyn AnyModel) {
///     println!("deleted {} {}", model.model_name(), model.key_value());
/// }
///
/// /// Methods: the attribute on the `impl`, the event on each method.
/// #[model_core::listens_for]
/// impl Post {
///     #[listens_for(before_update)]
///     fn restamp(&mut self) {
///         self.stamped = true;
///     }
/// }
/// ```
///
/// The listener shapes, compile-time checks and transaction are those of struct-side
/// listeners. They run after the struct-side ones; see `model_core::listen` for the order.
///
/// Write it by path, `#[model_core::listens_for(..)]`. Imported (`use
/// model_core::listens_for`) it also works, beside structs that use the derive's own
/// `#[listens_for(event, listener)]` after their `#[derive(Model)]`; a struct that writes
/// it before the derive gets E0659 ("`listens_for` is ambiguous") from rustc.
#[proc_macro_attribute]
pub fn listens_for(args: TokenStream, item: TokenStream) -> TokenStream {
    listens_for::expand(args.into(), item.into()).into()
}
