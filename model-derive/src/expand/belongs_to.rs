//! `impl BelongsTo<Parent>` for each `references` field, which `post.children::<Comment>()`,
//! `comment.parent::<Post>(&pool)` and eager loading follow: the field's filter and its value.
//! A model that references one parent from several fields gets none for that parent: which
//! field to follow is the caller's to say, with a filter (the trait's diagnostic says so).

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use crate::ast::path_text;
use crate::valid::{option_inner, Model};

pub fn impls(model: &Model<'_>) -> TokenStream {
    let ident = model.ident;
    let p = quote!(::model_core::__private);
    let parent_text = |path: &syn::Path| match path.get_ident() {
        Some(name) if name == "Self" => ident.to_string(),
        _ => path_text(path),
    };
    let all: Vec<_> = model
        .columns()
        .enumerate()
        .filter_map(|(position, (_, field, _))| {
            Some((position, field, field.schema.references.as_ref()?))
        })
        .collect();
    // Positions in `COLUMNS`, not in `fields`: skipped fields have no column.
    let each = all.iter().filter_map(|(position, field, references)| {
        let text = parent_text(&references.model);
        let once = all
            .iter()
            .filter(|(_, _, other)| parent_text(&other.model) == text)
            .count()
            == 1;
        if !once {
            return None;
        }
        // `references = Self` is the model itself, which an impl header cannot call `Self`.
        let parent = match references.model.get_ident() {
            Some(name) if name == "Self" => quote!(#ident),
            _ => {
                let path = &references.model;
                quote!(#path)
            }
        };
        let member = field.ident;
        // The key's type from the field's alone (`schema::references` checks it is the
        // parent's): nothing here asks the parent anything, so a parent that is no model is
        // reported once, at the path.
        let (key, value) = match option_inner(field.ty) {
            Some(inner) => (inner, quote!(::core::clone::Clone::clone(&self.#member))),
            None => (
                field.ty,
                quote!(::core::option::Option::Some(::core::clone::Clone::clone(&self.#member))),
            ),
        };
        // Named once, at the path: in an impl header an unknown name would be reported a
        // second time, with a suggestion to make it a type parameter.
        let span = references.model.span();
        let alias = quote_spanned! {span=> type __Parent = #parent; };
        Some(quote! {
            const _: () = {
            #alias
            #[automatically_derived]
            #[allow(unused_qualifications, clippy::all, clippy::pedantic, clippy::nursery)]
            impl #p::BelongsTo<__Parent> for #ident {
                type __ParentKey = #key;
                const __FOREIGN_KEY: usize = #position;

                fn __children_of(__keys: ::std::vec::Vec<#key>) -> #p::Filter<Self> {
                    <Self as #p::Record>::__HANDLES.#member.in_(__keys)
                }

                fn __parent_key(&self) -> ::core::option::Option<#key> {
                    #value
                }
            }
            };
        })
    });
    quote! { #(#each)* }
}
