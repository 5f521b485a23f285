//! The typed columns of a model: a struct with one `Column` handle per column field, named,
//! typed and as visible as the field, for the closures of `filter`, `order_by` and `update`.
//! A misspelled column is then rustc's own "no field `titel` on type `&PostColumns`".

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::ext::IdentExt;
use syn::Ident;

use crate::valid::Model;

/// `PostColumns` for `Post`.
fn struct_name(model: &Model<'_>) -> Ident {
    format_ident!("{}Columns", model.ident.unraw())
}

/// The struct, beside the model and as visible as it.
pub fn definition(model: &Model<'_>) -> TokenStream {
    let ident = model.ident;
    let vis = model.vis;
    let name = struct_name(model);
    let doc = format!(
        "The typed columns of `{ident}`, one per column field: what the closures of \
         `{ident}::filter`, `order_by` and `update` receive."
    );
    let fields = model.columns().map(|(_, field, column)| {
        let member = field.ident;
        let ty = field.ty;
        let vis = field.vis;
        let doc = format!("The `{column}` column.");
        quote! {
            #[doc = #doc]
            #vis #member: ::model_core::__private::Column<#ident, #ty>,
        }
    });
    quote! {
        #[doc = #doc]
        #[allow(dead_code, unused_qualifications, clippy::all, clippy::pedantic, clippy::nursery)]
        #vis struct #name {
            #(#fields)*
        }
    }
}

/// `type Columns`, its one value (each handle knows its column's position in `COLUMNS`), and
/// `__column_mut`, which reaches a column's field by that position (for `update`'s per-row
/// path): one generic method per model, compiled only where it is used, rather than an
/// accessor per field, which every build would pay for.
/// The typed columns' struct, `Model::Columns`.
pub fn columns_type(model: &Model<'_>) -> TokenStream {
    let name = struct_name(model);
    quote!(#name)
}

pub fn handles(model: &Model<'_>) -> TokenStream {
    let name = struct_name(model);
    let columns: Vec<_> = model.columns().map(|(_, field, _)| field.ident).collect();
    let indices = 0..columns.len();
    let handles = columns
        .iter()
        .enumerate()
        .map(|(index, member)| quote!(#member: ::model_core::__private::Column::__new(#index),));
    quote! {
        type __Columns = #name;
        const __HANDLES: #name = #name { #(#handles)* };

        fn __column_mut<__T: 'static>(
            &mut self,
            __column: usize,
        ) -> ::core::option::Option<&mut __T> {
            let __field: &mut dyn ::core::any::Any = match __column {
                #(#indices => &mut self.#columns,)*
                _ => return ::core::option::Option::None,
            };
            __field.downcast_mut::<__T>()
        }
    }
}

/// `sqlx::FromRow`, by column name, for `query_as`: it runs no listener, as its name says.
pub fn from_row(model: &Model<'_>) -> TokenStream {
    let ident = model.ident;
    let bounds = super::checks::bounds(model);
    quote! {
        #[automatically_derived]
        #[allow(unused_qualifications, clippy::all, clippy::pedantic, clippy::nursery)]
        impl<'__r, __R> ::model_core::__private::sqlx::FromRow<'__r, __R> for #ident
        where
            #bounds
            __R: ::model_core::__private::sqlx::Row,
            <__R as ::model_core::__private::sqlx::Row>::Database: ::model_core::__private::Backend,
        {
            fn from_row(
                __row: &'__r __R,
            ) -> ::core::result::Result<Self, ::model_core::__private::sqlx::Error> {
                ::model_core::__private::from_row::<
                    Self,
                    <__R as ::model_core::__private::sqlx::Row>::Database,
                >(__row)
            }
        }
    }
}
