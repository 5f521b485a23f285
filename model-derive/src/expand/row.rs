//! Binding a model's columns into a statement, and reading it back from a row.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use crate::valid::Model;

/// `__bind`: every column in `COLUMNS` order; the key only when asked.
pub fn bind(model: &Model<'_>) -> TokenStream {
    let binds = model.columns().map(|(i, field, _)| {
        let member = field.ident;
        let ty = field.ty;
        // Spanned at the field's type: a type that is not a column is reported there.
        let bind = quote_spanned! {ty.span()=>
            __DB::bind::<#ty>(__query, &self.#member)
        };
        if model.is_key(i) {
            quote! { let __query = if __with_key { #bind } else { __query }; }
        } else {
            quote! { let __query = #bind; }
        }
    });
    quote! {
        fn __bind<'__q, __DB: ::model_core::__private::Backend>(
            &self,
            __query: ::model_core::__private::Query<'__q, __DB>,
            __with_key: bool,
        ) -> ::model_core::__private::Query<'__q, __DB> {
            #(#binds)*
            __query
        }
    }
}

/// `__prepare`: every column's value, in `COLUMNS` order.
pub fn prepare(model: &Model<'_>) -> TokenStream {
    let checks = model.columns().map(|(_, field, column)| {
        let member = field.ident;
        let ty = field.ty;
        let length = field.schema.length.map(|(max, _)| {
            quote! {
                if let ::core::result::Result::Err(reason) =
                    ::model_core::__private::check_length(&self.#member, #max)
                {
                    return ::core::result::Result::Err((#column, reason));
                }
            }
        });
        quote! {
            if let ::core::result::Result::Err(reason) =
                <#ty as ::model_core::__private::ColumnType>::__prepare(&mut self.#member, __dialect)
            {
                return ::core::result::Result::Err((#column, reason));
            }
            #length
        }
    });
    quote! {
        fn __prepare(
            &mut self,
            __dialect: ::model_core::__private::Dialect,
        ) -> ::core::result::Result<(), (&'static str, &'static str)> {
            #(#checks)*
            ::core::result::Result::Ok(())
        }
    }
}

/// `__from_row_at`: each column where the map says (its own position, for model-core's own
/// statements), skipped fields from `Default`.
pub fn from_row(model: &Model<'_>) -> TokenStream {
    let mut index = 0usize;
    let inits = model.fields.iter().map(|field| {
        let member = field.ident;
        let ty = field.ty;
        match field.column {
            Some(_) => {
                let init = quote_spanned! {ty.span()=>
                    #member: __DB::get::<#ty>(__row, __columns.at(#index))?
                };
                index += 1;
                init
            }
            None => quote_spanned! {ty.span()=>
                #member: <#ty as ::core::default::Default>::default()
            },
        }
    });
    // Collected first: `index` is advanced inside the closure.
    let inits: Vec<TokenStream> = inits.collect();
    let columns = model
        .fields
        .iter()
        .filter(|field| field.column.is_some())
        .map(|field| field.ident);
    quote! {
        fn __assign_columns(&mut self, mut __from: Self) {
            #(::core::mem::swap(&mut self.#columns, &mut __from.#columns);)*
        }

        fn __from_row_at<__DB: ::model_core::__private::Backend>(
            __row: &<__DB as ::model_core::__private::sqlx::Database>::Row,
            __columns: ::model_core::__private::ColumnMap<'_>,
        ) -> ::core::result::Result<Self, ::model_core::__private::sqlx::Error> {
            ::core::result::Result::Ok(Self { #(#inits),* })
        }
    }
}
