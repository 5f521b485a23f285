//! What an invalid derive expands to: the errors, plus an `impl Model` (and `Record`) that
//! type-checks and is never run, so that every use of the type does not add a "`Model` is not
//! implemented" error of its own to the real ones.

use proc_macro2::TokenStream;
use quote::quote;
use syn::DeriveInput;

pub fn expand(input: &DeriveInput, errors: syn::Error) -> TokenStream {
    let errors = errors.to_compile_error();
    let ident = &input.ident;
    // A generic model is itself an error; a stub impl for it would only add more.
    if !input.generics.params.is_empty() {
        return errors;
    }
    quote! {
        #errors

        #[automatically_derived]
        #[allow(unused_qualifications, unused_variables, clippy::all, clippy::pedantic)]
        impl ::model_core::__private::Model for #ident {
            const NAME: &'static str = "";
            const TABLE: &'static str = "";
            const COLUMNS: &'static [&'static str] = &[];
            const PRIMARY_KEY: &'static [usize] = &[0];
            const LISTENERS: &'static [::model_core::__private::ListenerInfo] = &[];
            type Key = i64;
            type Columns = ();
        }

        #[automatically_derived]
        #[allow(unused_qualifications, unused_variables, clippy::all, clippy::pedantic)]
        impl ::model_core::__private::Record for #ident {
            type __Key = i64;
            type __Columns = ();
            const __TABLE: ::model_core::__private::Table = ::model_core::__private::Table {
                model: "",
                schema: ::core::option::Option::None,
                name: "",
                columns: &[],
                key: &[0],
                version: ::core::option::Option::None,
            };
            const __HANDLES: () = ();
            fn __column_mut<__T: 'static>(
                &mut self,
                column: usize,
            ) -> ::core::option::Option<&mut __T> {
                ::core::unreachable!()
            }
            fn __statements(
                dialect: ::model_core::__private::Dialect,
            ) -> &'static ::model_core::__private::Statements {
                ::core::unreachable!()
            }
            fn __key(&self) -> ::core::option::Option<i64> {
                ::core::unreachable!()
            }
            fn __set_key(&mut self, key: ::core::option::Option<i64>) {
                ::core::unreachable!()
            }
            fn __bind<'__q, __DB: ::model_core::__private::Backend>(
                &self,
                query: ::model_core::__private::Query<'__q, __DB>,
                with_key: bool,
            ) -> ::model_core::__private::Query<'__q, __DB> {
                ::core::unreachable!()
            }
            fn __prepare(
                &mut self,
                dialect: ::model_core::__private::Dialect,
            ) -> ::core::result::Result<(), (&'static str, &'static str)> {
                ::core::unreachable!()
            }
            fn __assign_columns(&mut self, from: Self) {
                ::core::unreachable!()
            }
            fn __listeners() -> &'static ::model_core::__private::Listeners {
                ::core::unreachable!()
            }
            fn __from_row_at<__DB: ::model_core::__private::Backend>(
                row: &<__DB as ::model_core::__private::sqlx::Database>::Row,
                columns: ::model_core::__private::ColumnMap<'_>,
            ) -> ::core::result::Result<Self, ::model_core::__private::sqlx::Error> {
                ::core::unreachable!()
            }
        }
    }
}
