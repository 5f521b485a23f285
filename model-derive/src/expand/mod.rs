//! Pass 3: the `impl Model` of a checked model. Never fails.

mod changes;
mod checks;
mod columns;
mod listeners;
mod row;

use proc_macro2::TokenStream;
use quote::quote;

use crate::valid::Model;

pub fn expand(model: &Model<'_>) -> TokenStream {
    let ident = model.ident;
    let name = ident.to_string();
    let table = &model.table;
    let columns = model.columns().map(|(_, _, column)| column);
    let primary_key = model
        .columns()
        .position(|(i, _, _)| i == model.primary_key)
        .expect("the primary key is a column");
    let key_field = &model.fields[model.primary_key];
    let key_member = key_field.ident;
    let (key_type, key_accessors) = match model.generated_key() {
        Some(inner) => (
            quote!(#inner),
            quote! {
                fn __key(&self) -> ::core::option::Option<&Self::Key> {
                    ::core::option::Option::as_ref(&self.#key_member)
                }
                fn __set_key(&mut self, key: ::core::option::Option<Self::Key>) {
                    self.#key_member = key;
                }
            },
        ),
        None => {
            let ty = key_field.ty;
            (
                quote!(#ty),
                quote! {
                    fn __key(&self) -> ::core::option::Option<&Self::Key> {
                        ::core::option::Option::Some(&self.#key_member)
                    }
                    fn __set_key(&mut self, key: ::core::option::Option<Self::Key>) {
                        if let ::core::option::Option::Some(key) = key {
                            self.#key_member = key;
                        }
                    }
                },
            )
        }
    };
    let manifest = listeners::manifest(model);
    let run = listeners::run_methods(model);
    let bind = row::bind(model);
    let from_row = row::from_row(model);
    let prepare = row::prepare(model);
    let where_clause = checks::where_clause(model);
    let handles = columns::handles(model);
    let columns_struct = columns::definition(model);
    let from_row_impl = columns::from_row(model);
    // Issue 14: change tracking and versions, for the models that opt in.
    let (statements_get, version_arg) = changes::statements_get(model);
    let change_bounds = changes::model_bounds(model);
    let change_items = changes::model_items(model);
    let change_set = changes::definition(model);

    quote! {
        #[automatically_derived]
        #[allow(unused_qualifications, clippy::all, clippy::pedantic, clippy::nursery)]
        impl ::model_core::__private::Model for #ident #where_clause #change_bounds {
            const NAME: &'static str = #name;
            const TABLE: &'static str = #table;
            const COLUMNS: &'static [&'static str] = &[#(#columns),*];
            const PRIMARY_KEY: usize = #primary_key;
            const LISTENERS: &'static [::model_core::__private::ListenerInfo] = #manifest;

            type Key = #key_type;
            #handles

            fn __statements(
                dialect: ::model_core::__private::Dialect,
            ) -> &'static ::model_core::__private::Statements {
                static STATEMENTS: ::model_core::__private::StatementCache =
                    ::model_core::__private::StatementCache::new();
                STATEMENTS.#statements_get(
                    dialect,
                    <Self as ::model_core::__private::Model>::TABLE,
                    <Self as ::model_core::__private::Model>::COLUMNS,
                    <Self as ::model_core::__private::Model>::PRIMARY_KEY
                    #version_arg
                )
            }

            #key_accessors
            #bind
            #from_row
            #prepare
            #run
            #change_items
        }

        #change_set

        #columns_struct
        #from_row_impl
    }
}
