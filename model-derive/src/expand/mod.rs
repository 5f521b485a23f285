//! Pass 3: the `impl Model` of a checked model. Never fails.

mod belongs_to;
mod cascades;
mod changes;
mod checks;
mod columns;
mod listeners;
mod row;
mod schema;

use proc_macro2::TokenStream;
use quote::quote;

use crate::valid::Model;

pub fn expand(model: &Model<'_>) -> TokenStream {
    let ident = model.ident;
    let name = ident.to_string();
    let table = &model.table;
    let columns = model.columns().map(|(_, _, column)| column);
    // Positions in `COLUMNS`, not in `fields`: skipped fields have no column.
    let primary_key = model
        .columns()
        .enumerate()
        .filter(|(_, (i, _, _))| model.is_key(*i))
        .map(|(position, _)| position);
    let (key_type, key_accessors) = key(model);
    let schema_name = model.schema.as_ref().map(|schema| {
        quote!(const SCHEMA: ::core::option::Option<&'static str> = ::core::option::Option::Some(#schema);)
    });
    let manifest = listeners::manifest(model);
    let run = listeners::run_methods(model);
    let bind = row::bind(model);
    let from_row = row::from_row(model);
    let prepare = row::prepare(model);
    // Issue 27: the columns the database writes, read back.
    let read_back = row::read_back(model);
    let statements = match read_back.is_empty() {
        true => {
            quote!(STATEMENTS.get(dialect, &<Self as ::model_core::__private::Record>::__TABLE))
        }
        false => quote! {
            STATEMENTS.get_with(
                dialect,
                &<Self as ::model_core::__private::Record>::__TABLE,
                &<Self as ::model_core::__private::Record>::__READ_BACK,
            )
        },
    };
    let where_clause = checks::where_clause(model);
    let handles = columns::handles(model);
    let columns_struct = columns::definition(model);
    let from_row_impl = columns::from_row(model);
    let schema = schema::columns(model);
    let decimal_checks = schema::decimal_checks(model);
    // Issue 14: change tracking and versions, for the models that opt in.
    let change_bounds = changes::model_bounds(model);
    let change_items = changes::model_items(model);
    let change_set = changes::definition(model);

    let columns_type = columns::columns_type(model);
    // Issue 25: the cascades a delete of a referenced model runs through this model's
    // listeners.
    let cascades = cascades::registrations(model);
    let belongs_to = belongs_to::impls(model);
    let query_listeners = crate::query_listener::struct_side(ident, &model.query_listeners);
    // Issue 27: `model_core::models()` lists every model of the binary.
    let listed = quote! {
        #[allow(non_upper_case_globals, unused_qualifications, clippy::all, clippy::pedantic)]
        const _: () = {
            fn __parts() -> ::model_core::__private::ModelParts {
                #[allow(unused_imports)]
                use ::model_core::__private::{ViaNoRecord as _, ViaRecord as _};
                (&::model_core::__private::ModelProbe::<#ident>(::core::marker::PhantomData))
                    .__parts()
            }
            static __INFO: ::model_core::ModelInfo = ::model_core::ModelInfo {
                name: #name,
                module: ::core::module_path!(),
                type_id: ::core::any::TypeId::of::<#ident>,
                parts: __parts,
            };
            #[::model_core::__private::linkme::distributed_slice(::model_core::__private::MODELS)]
            #[linkme(crate = ::model_core::__private::linkme)]
            static __MODEL: &'static ::model_core::ModelInfo = &__INFO;
        };
    };
    quote! {
        #[automatically_derived]
        #[allow(unused_qualifications, clippy::all, clippy::pedantic, clippy::nursery)]
        impl ::model_core::__private::Model for #ident #where_clause #change_bounds {
            const NAME: &'static str = #name;
            const TABLE: &'static str = #table;
            const COLUMNS: &'static [&'static str] = &[#(#columns),*];
            #schema_name
            const PRIMARY_KEY: &'static [usize] = &[#(#primary_key),*];
            const LISTENERS: &'static [::model_core::__private::ListenerInfo] = #manifest;

            type Key = #key_type;
            type Columns = #columns_type;
        }

        #[automatically_derived]
        #[allow(unused_qualifications, clippy::all, clippy::pedantic, clippy::nursery)]
        impl ::model_core::__private::Record for #ident #where_clause #change_bounds {
            type __Key = #key_type;
            const __TABLE: ::model_core::__private::Table = ::model_core::__private::Table {
                model: <Self as ::model_core::__private::Model>::NAME,
                schema: <Self as ::model_core::__private::Model>::SCHEMA,
                name: <Self as ::model_core::__private::Model>::TABLE,
                columns: <Self as ::model_core::__private::Model>::COLUMNS,
                key: <Self as ::model_core::__private::Model>::PRIMARY_KEY,
                version: <Self as ::model_core::__private::Record>::__VERSION,
            };
            #schema
            #handles

            fn __statements(
                dialect: ::model_core::__private::Dialect,
            ) -> &'static ::model_core::__private::Statements {
                static STATEMENTS: ::model_core::__private::StatementCache =
                    ::model_core::__private::StatementCache::new();
                #statements
            }

            #key_accessors
            #bind
            #from_row
            #prepare
            #read_back
            #run
            #change_items
        }

        #change_set
        #decimal_checks

        #columns_struct
        #from_row_impl
        #cascades
        #belongs_to
        #query_listeners
        #listed
    }
}

/// `type Key` and the key's accessors: one field's type (without its `Option`, for a key
/// the database generates), or the tuple of a composite key's fields.
fn key(model: &Model<'_>) -> (TokenStream, TokenStream) {
    let parts: Vec<_> = model
        .primary_key
        .iter()
        .map(|&i| &model.fields[i])
        .collect();
    if let [part] = parts.as_slice() {
        let member = part.ident;
        return match model.generated_key() {
            Some(inner) => (
                quote!(#inner),
                quote! {
                    fn __key(&self) -> ::core::option::Option<Self::__Key> {
                        ::core::clone::Clone::clone(&self.#member)
                    }
                    fn __set_key(&mut self, key: ::core::option::Option<Self::__Key>) {
                        self.#member = key;
                    }
                },
            ),
            None => {
                let ty = part.ty;
                (
                    quote!(#ty),
                    quote! {
                        fn __key(&self) -> ::core::option::Option<Self::__Key> {
                            ::core::option::Option::Some(::core::clone::Clone::clone(&self.#member))
                        }
                        fn __set_key(&mut self, key: ::core::option::Option<Self::__Key>) {
                            if let ::core::option::Option::Some(key) = key {
                                self.#member = key;
                            }
                        }
                    },
                )
            }
        };
    }
    let types = parts.iter().map(|part| part.ty);
    let members: Vec<_> = parts.iter().map(|part| part.ident).collect();
    let indices = (0..parts.len()).map(syn::Index::from);
    (
        quote!((#(#types,)*)),
        quote! {
            fn __key(&self) -> ::core::option::Option<Self::__Key> {
                ::core::option::Option::Some((#(::core::clone::Clone::clone(&self.#members),)*))
            }
            fn __set_key(&mut self, key: ::core::option::Option<Self::__Key>) {
                if let ::core::option::Option::Some(key) = key {
                    #(self.#members = key.#indices;)*
                }
            }
        },
    )
}
