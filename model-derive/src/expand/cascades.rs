//! One registration per `references` field whose `on_delete` runs listeners (`"cascade"`,
//! `"set_null"`): the parent's derive cannot see its children, so each child tells
//! model-core, through a slice the linker gathers (`model_core::write::cascade`), which of its
//! columns references which model and what a delete of that model does to its rows.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use crate::valid::{Model, OnDelete};

pub fn registrations(model: &Model<'_>) -> TokenStream {
    let ident = model.ident;
    let p = quote!(::model_core::__private);
    // Positions in `COLUMNS`, not in `fields`: skipped fields have no column.
    let each = model
        .columns()
        .enumerate()
        .filter_map(|(position, (_, field, _))| {
            let references = field.schema.references.as_ref()?;
            let set_null = match (references.listeners, references.on_delete?) {
                (true, OnDelete::Cascade) => false,
                (true, OnDelete::SetNull) => true,
                _ => return None,
            };
            // `references = Self` is the model itself; this item is outside its `impl`.
            let parent = match references.model.get_ident() {
                Some(name) if name == "Self" => quote!(#ident),
                _ => {
                    let path = &references.model;
                    quote!(#path)
                }
            };
            // At the path, where `schema::references` reports a parent that is no model.
            let span = references.model.span();
            let call = match set_null {
                false => quote_spanned! {span=> #p::cascade::<#ident, #parent>(#position) },
                true => {
                    let ty = field.ty;
                    quote_spanned! {span=> #p::cascade_set_null::<#ident, #parent, #ty>(#position) }
                }
            };
            Some(quote! {
                #[allow(non_upper_case_globals, unused_qualifications, clippy::all, clippy::pedantic)]
                const _: () = {
                    #[#p::linkme::distributed_slice(#p::CASCADES)]
                    #[linkme(crate = #p::linkme)]
                    static __CASCADE: #p::Cascade = #call;
                };
            })
        });
    quote! { #(#each)* }
}
