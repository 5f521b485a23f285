//! Binding a model's columns into a statement, and reading it back from a row.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use crate::valid::{Field, Model, ReadBack};

/// Whether the model writes `field`'s column: not a `#[model(generated)]` one, which the
/// database writes.
fn written(field: &Field<'_>) -> bool {
    !field.read_back.is_some_and(ReadBack::is_generated)
}

/// `__bind`: every column the model writes, in `COLUMNS` order; the key only when asked.
pub fn bind(model: &Model<'_>) -> TokenStream {
    let binds = model
        .columns()
        .filter(|(_, field, _)| written(field))
        .map(|(i, field, _)| {
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

/// `__prepare`: every written column's value, in `COLUMNS` order, checked by one loop in
/// model-core (`prepare_columns`) rather than by code written out per field. The names and
/// lengths are one constant: only the values are put together when it runs.
pub fn prepare(model: &Model<'_>) -> TokenStream {
    let written: Vec<_> = model
        .columns()
        .filter(|(_, field, _)| written(field))
        .collect();
    let values = written.iter().map(|(_, field, _)| {
        let member = field.ident;
        quote_spanned! {field.ty.span()=>
            &mut self.#member as &mut dyn ::model_core::__private::PrepareValue
        }
    });
    let columns = written.iter().map(|(_, field, column)| {
        let length = match field.schema.length {
            Some((max, _)) => quote!(::core::option::Option::Some(#max)),
            None => quote!(::core::option::Option::None),
        };
        quote! { (#column, #length) }
    });
    quote! {
        fn __prepare(
            &mut self,
            __dialect: ::model_core::__private::Dialect,
        ) -> ::core::result::Result<(), (&'static str, &'static str)> {
            const __COLUMNS: &[(&str, ::core::option::Option<u32>)] = &[#(#columns),*];
            ::model_core::__private::prepare_columns(__COLUMNS, &mut [#(#values),*], __dialect)
        }
    }
}

/// `__from_row_at`: each column where the map says (its own position, for model-core's own
/// statements), decoded into a slot by `decode_columns` (one loop compiled once per backend,
/// not a `?` per field: issue 28), skipped fields from `Default`.
pub fn from_row(model: &Model<'_>) -> TokenStream {
    let columns: Vec<_> = model
        .fields
        .iter()
        .filter(|field| field.column.is_some())
        .collect();
    let slots: Vec<_> = (0..columns.len())
        .map(|i| format_ident!("__column_{}", i))
        .collect();
    let declare = columns.iter().zip(&slots).map(|(field, slot)| {
        let ty = field.ty;
        quote_spanned! {ty.span()=>
            let mut #slot: ::core::option::Option<#ty> = ::core::option::Option::None;
        }
    });
    let pass = columns.iter().zip(&slots).map(|(field, slot)| {
        quote_spanned! {field.ty.span()=>
            &mut #slot as &mut dyn ::model_core::__private::DecodeSlot<__DB>
        }
    });
    let mut next = slots.iter();
    let inits = model.fields.iter().map(|field| {
        let member = field.ident;
        let ty = field.ty;
        match field.column {
            Some(_) => {
                let slot = next.next();
                quote!(#member: ::model_core::__private::decoded(#slot))
            }
            None => quote_spanned! {ty.span()=>
                #member: <#ty as ::core::default::Default>::default()
            },
        }
    });
    let members = columns.iter().map(|field| field.ident);
    quote! {
        fn __assign_columns(&mut self, mut __from: Self) {
            #(::core::mem::swap(&mut self.#members, &mut __from.#members);)*
        }

        fn __from_row_at<__DB: ::model_core::__private::Backend>(
            __row: &<__DB as ::model_core::__private::sqlx::Database>::Row,
            __columns: ::model_core::__private::ColumnMap<'_>,
        ) -> ::core::result::Result<Self, ::model_core::__private::sqlx::Error> {
            #(#declare)*
            // A `match`, not `?`: that is a `from_residual` per model.
            if let ::core::result::Result::Err(__e) =
                ::model_core::__private::decode_columns::<__DB>(__row, __columns, &mut [#(#pass),*])
            {
                return ::core::result::Result::Err(__e);
            }
            ::core::result::Result::Ok(Self { #(#inits),* })
        }
    }
}

/// Issue 27, for a model with generated or defaulted columns only: `__READ_BACK`, and how
/// an insert leaves a defaulted `None` to the database (`__omitted`, `__bind_insert`) and
/// a write reads the columns back (`__read_back`).
pub fn read_back(model: &Model<'_>) -> TokenStream {
    let generated = model.read_back(ReadBack::is_generated);
    let defaulted = model.read_back(ReadBack::is_defaulted);
    if generated.is_empty() && defaulted.is_empty() {
        return TokenStream::new();
    }
    let by_trigger = model
        .fields
        .iter()
        .any(|f| f.read_back == Some(ReadBack::Generated { by_trigger: true }));
    let positions = generated
        .iter()
        .chain(&defaulted)
        .map(|(position, _)| position);
    let count = generated.len();
    let reads = generated
        .iter()
        .chain(&defaulted)
        .enumerate()
        .map(|(n, (_, field))| {
            let member = field.ident;
            let ty = field.ty;
            quote_spanned! {ty.span()=>
                if __count > #n {
                    self.#member = __DB::get::<#ty>(__row, __first + #n)?;
                }
            }
        });
    let insert = (!defaulted.is_empty()).then(|| bind_insert(model, &defaulted));
    quote! {
        const __READ_BACK: ::model_core::__private::ReadBack = ::model_core::__private::ReadBack {
            columns: &[#(#positions),*],
            generated: #count,
            by_trigger: #by_trigger,
        };

        fn __read_back<__DB: ::model_core::__private::Backend>(
            &mut self,
            __row: &<__DB as ::model_core::__private::sqlx::Database>::Row,
            __first: usize,
            __count: usize,
        ) -> ::core::result::Result<(), ::model_core::__private::sqlx::Error> {
            #(#reads)*
            ::core::result::Result::Ok(())
        }

        #insert
    }
}

/// `__omitted` and `__bind_insert`: an insert leaves each defaulted `Option` column that is
/// `None` to the database (bit `j` for the `j`-th of `defaulted`).
fn bind_insert(model: &Model<'_>, defaulted: &[(usize, &Field<'_>)]) -> TokenStream {
    let omitted = defaulted.iter().enumerate().map(|(bit, (_, field))| {
        let member = field.ident;
        quote! {
            if ::core::option::Option::is_none(&self.#member) {
                __omitted |= 1 << #bit;
            }
        }
    });
    let binds = model
        .columns()
        .filter(|(_, field, _)| written(field))
        .map(|(i, field, _)| {
            let member = field.ident;
            let ty = field.ty;
            let bind = quote_spanned! {ty.span()=>
                __DB::bind::<#ty>(__query, &self.#member)
            };
            if model.is_key(i) {
                quote! { let __query = if __with_key { #bind } else { __query }; }
            } else if field.read_back == Some(ReadBack::Defaulted) {
                quote! {
                    let __query = match &self.#member {
                        ::core::option::Option::Some(_) => #bind,
                        ::core::option::Option::None => __query,
                    };
                }
            } else {
                quote! { let __query = #bind; }
            }
        });
    quote! {
        fn __omitted(&self) -> u64 {
            let mut __omitted = 0u64;
            #(#omitted)*
            __omitted
        }

        fn __bind_insert<'__q, __DB: ::model_core::__private::Backend>(
            &self,
            __query: ::model_core::__private::Query<'__q, __DB>,
            __with_key: bool,
        ) -> ::model_core::__private::Query<'__q, __DB> {
            #(#binds)*
            __query
        }
    }
}
