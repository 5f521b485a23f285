//! Compile-time checks whose errors must point at the user's code: each is spanned at the
//! field type it is about, so the compiler names that field and type.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use crate::valid::Model;

/// The `where` clause of the `Model` impl: every column's type is a `ColumnType`, and an
/// `Option<_>` key's inner type a `GeneratedKey`.
///
/// A bound here, not a check in a `const` block, because the impl's method bodies then
/// assume it: a field of a type no backend stores is reported once, at the field, and not
/// again for every generated body that binds or reads it.
pub fn where_clause(model: &Model<'_>) -> TokenStream {
    let bounds = bounds(model);
    quote! { where #bounds }
}

/// The predicates of [`where_clause`], for other impls of the model (its `FromRow`): the
/// same bounds at the same spans, so that rustc reports a bad field type once for all of
/// them instead of again through every impl that needs `Model`.
pub fn bounds(model: &Model<'_>) -> TokenStream {
    let columns = model.columns().map(|(_, field, _)| {
        let ty = field.ty;
        // The type keeps its own tokens' spans, so the error underlines all of it; the
        // bound takes the type's span (the default would point into the derive).
        let bound = quote_spanned!(ty.span()=> ::model_core::__private::ColumnType);
        quote!(#ty: #bound,)
    });
    // `#[model(length = n)]` limits text: reported at the `n`, type and all.
    let lengths = model.columns().filter_map(|(_, field, _)| {
        let (_, span) = field.schema.length?;
        let ty = respan(field.ty, span);
        let bound = quote_spanned!(span=> ::model_core::__private::MaxLength);
        Some(quote!(#ty: #bound,))
    });
    let generated = model.generated_key().map(|inner| {
        let bound = quote_spanned!(inner.span()=> ::model_core::__private::GeneratedKey);
        quote!(#inner: #bound,)
    });
    quote! { #(#columns)* #(#lengths)* #generated }
}

/// `tokens` with every span set to `span`.
fn respan(tokens: impl quote::ToTokens, span: proc_macro2::Span) -> TokenStream {
    tokens
        .into_token_stream()
        .into_iter()
        .map(|mut token| {
            if let proc_macro2::TokenTree::Group(group) = &token {
                let mut inner =
                    proc_macro2::Group::new(group.delimiter(), respan(group.stream(), span));
                inner.set_span(span);
                token = proc_macro2::TokenTree::Group(inner);
            } else {
                token.set_span(span);
            }
            token
        })
        .collect()
}
