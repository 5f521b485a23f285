//! The impls of a checked type: sqlx's `Type`, `Encode` and `Decode`, each one generic over
//! the database (so that the type also binds in hand-written sqlx queries), and model-core's
//! `ColumnType` with the storage it rests on.
//!
//! An enum delegates to `str` (text) or to its `repr` integer, which every backend stores
//! in a column of that type; on PostgreSQL that is `TEXT`, not a custom type named after
//! the enum, which is what `#[derive(sqlx::Type)]` would ask for. A newtype delegates
//! everything to its field.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{DeriveInput, Ident, Member, Type};

use super::ast::{Input, Shape};

/// The attributes on every generated impl: a user crate that denies warnings or clippy's
/// pedantic lints must not see any from code it did not write.
fn allow() -> TokenStream {
    quote! {
        #[automatically_derived]
        #[allow(unused_qualifications, clippy::all, clippy::pedantic, clippy::nursery)]
    }
}

pub fn expand(input: &Input<'_>) -> TokenStream {
    match &input.shape {
        Shape::Text(variants) => text_enum(input.ident, variants),
        Shape::Integer { repr, variants } => integer_enum(input.ident, repr, variants),
        Shape::Newtype { member, ty } => newtype(input.ident, member, ty),
    }
}

/// `Type` of a type stored as `repr`.
fn type_as(ident: &Ident, repr: &TokenStream) -> TokenStream {
    let allow = allow();
    quote! {
        #allow
        impl<__DB: ::model_core::__private::sqlx::Database> ::model_core::__private::sqlx::Type<__DB>
            for #ident
        where
            #repr: ::model_core::__private::sqlx::Type<__DB>,
        {
            fn type_info() -> <__DB as ::model_core::__private::sqlx::Database>::TypeInfo {
                <#repr as ::model_core::__private::sqlx::Type<__DB>>::type_info()
            }
            fn compatible(
                ty: &<__DB as ::model_core::__private::sqlx::Database>::TypeInfo,
            ) -> bool {
                <#repr as ::model_core::__private::sqlx::Type<__DB>>::compatible(ty)
            }
        }
    }
}

/// An enum's storage is sqlx's, which the impls above give it on every backend; `sql_type`
/// is the schema's type of its values (`repr`'s, or text).
fn enum_column_type(ident: &Ident, sql_type: &TokenStream) -> TokenStream {
    let allow = allow();
    quote! {
        #allow
        impl<__DB: ::model_core::__private::sqlx::Database> ::model_core::__private::Stored<__DB>
            for #ident
        where
            Self: for<'__e> ::model_core::__private::sqlx::Encode<'__e, __DB>
                + for<'__r> ::model_core::__private::sqlx::Decode<'__r, __DB>
                + ::model_core::__private::sqlx::Type<__DB>,
            ::core::option::Option<Self>: for<'__e> ::model_core::__private::sqlx::Encode<'__e, __DB>,
        {
            fn bind<'__q>(
                &self,
                query: ::model_core::__private::Query<'__q, __DB>,
            ) -> ::model_core::__private::Query<'__q, __DB> {
                query.bind(self)
            }
            fn bind_null(
                query: ::model_core::__private::Query<'_, __DB>,
            ) -> ::model_core::__private::Query<'_, __DB> {
                query.bind(::core::option::Option::None::<Self>)
            }
            fn decode(
                value: <__DB as ::model_core::__private::sqlx::Database>::ValueRef<'_>,
            ) -> ::core::result::Result<Self, ::model_core::__private::sqlx::error::BoxDynError> {
                ::model_core::__private::decode_checked::<__DB, Self>(value)
            }
        }

        #allow
        impl ::model_core::__private::ColumnType for #ident {
            const __SQL_TYPE: ::model_core::__private::SqlType = #sql_type;
        }
    }
}

fn text_enum(ident: &Ident, variants: &[(&Ident, String)]) -> TokenStream {
    let allow = allow();
    let name = ident.to_string();
    let str_ty = quote!(&'__r ::core::primitive::str);
    let type_impl = type_as(ident, &quote!(::core::primitive::str));
    let to_text = variants
        .iter()
        .map(|(variant, text)| quote!(#ident::#variant => #text));
    let from_text = variants
        .iter()
        .map(|(variant, text)| quote!(#text => ::core::result::Result::Ok(#ident::#variant)));
    let texts = variants.iter().map(|(_, text)| text);
    let column_type = enum_column_type(ident, &quote!(::model_core::__private::SqlType::Text));
    quote! {
        #type_impl

        #allow
        impl<'__q, __DB: ::model_core::__private::sqlx::Database>
            ::model_core::__private::sqlx::Encode<'__q, __DB> for #ident
        where
            &'__q ::core::primitive::str: ::model_core::__private::sqlx::Encode<'__q, __DB>,
        {
            fn encode_by_ref(
                &self,
                buf: &mut <__DB as ::model_core::__private::sqlx::Database>::ArgumentBuffer,
            ) -> ::core::result::Result<
                ::model_core::__private::sqlx::encode::IsNull,
                ::model_core::__private::sqlx::error::BoxDynError,
            > {
                let text: &'__q ::core::primitive::str = match self { #(#to_text,)* };
                <&'__q ::core::primitive::str as ::model_core::__private::sqlx::Encode<'__q, __DB>>::encode(text, buf)
            }
        }

        #allow
        impl<'__r, __DB: ::model_core::__private::sqlx::Database>
            ::model_core::__private::sqlx::Decode<'__r, __DB> for #ident
        where
            #str_ty: ::model_core::__private::sqlx::Decode<'__r, __DB>,
        {
            fn decode(
                value: <__DB as ::model_core::__private::sqlx::Database>::ValueRef<'__r>,
            ) -> ::core::result::Result<Self, ::model_core::__private::sqlx::error::BoxDynError> {
                match <#str_ty as ::model_core::__private::sqlx::Decode<'__r, __DB>>::decode(value)? {
                    #(#from_text,)*
                    other => ::core::result::Result::Err(
                        ::model_core::__private::unknown_text(#name, other, &[#(#texts),*]),
                    ),
                }
            }
        }

        #column_type
    }
}

fn integer_enum(ident: &Ident, repr: &Ident, variants: &[&Ident]) -> TokenStream {
    let allow = allow();
    let name = ident.to_string();
    let repr = quote_spanned!(repr.span()=> ::core::primitive::#repr);
    let type_impl = type_as(ident, &repr);
    let to_number = variants
        .iter()
        .map(|variant| quote!(#ident::#variant => #ident::#variant as #repr));
    let from_number = variants.iter().map(|variant| {
        quote! {
            if number == #ident::#variant as #repr {
                return ::core::result::Result::Ok(#ident::#variant);
            }
        }
    });
    let numbers = variants
        .iter()
        .map(|variant| quote!(#ident::#variant as ::core::primitive::i64));
    let column_type = enum_column_type(
        ident,
        &quote!(<#repr as ::model_core::__private::ColumnType>::__SQL_TYPE),
    );
    quote! {
        #type_impl

        #allow
        impl<'__q, __DB: ::model_core::__private::sqlx::Database>
            ::model_core::__private::sqlx::Encode<'__q, __DB> for #ident
        where
            #repr: ::model_core::__private::sqlx::Encode<'__q, __DB>,
        {
            fn encode_by_ref(
                &self,
                buf: &mut <__DB as ::model_core::__private::sqlx::Database>::ArgumentBuffer,
            ) -> ::core::result::Result<
                ::model_core::__private::sqlx::encode::IsNull,
                ::model_core::__private::sqlx::error::BoxDynError,
            > {
                let number: #repr = match self { #(#to_number,)* };
                <#repr as ::model_core::__private::sqlx::Encode<'__q, __DB>>::encode(number, buf)
            }
        }

        #allow
        impl<'__r, __DB: ::model_core::__private::sqlx::Database>
            ::model_core::__private::sqlx::Decode<'__r, __DB> for #ident
        where
            #repr: ::model_core::__private::sqlx::Decode<'__r, __DB>,
        {
            fn decode(
                value: <__DB as ::model_core::__private::sqlx::Database>::ValueRef<'__r>,
            ) -> ::core::result::Result<Self, ::model_core::__private::sqlx::error::BoxDynError> {
                let number = <#repr as ::model_core::__private::sqlx::Decode<'__r, __DB>>::decode(value)?;
                #(#from_number)*
                ::core::result::Result::Err(::model_core::__private::unknown_number(
                    #name,
                    ::core::primitive::i64::from(number),
                    &[#(#numbers),*],
                ))
            }
        }

        #column_type
    }
}

fn newtype(ident: &Ident, member: &Member, ty: &Type) -> TokenStream {
    let allow = allow();
    let inner = quote!(#ty);
    let type_impl = type_as(ident, &inner);
    // Spanned at the field's type: a type that is not a column type is reported there.
    let column_bound = quote_spanned!(ty.span()=> ::model_core::__private::ColumnType);
    quote! {
        #type_impl

        #allow
        impl<'__q, __DB: ::model_core::__private::sqlx::Database>
            ::model_core::__private::sqlx::Encode<'__q, __DB> for #ident
        where
            #inner: ::model_core::__private::sqlx::Encode<'__q, __DB>,
        {
            fn encode_by_ref(
                &self,
                buf: &mut <__DB as ::model_core::__private::sqlx::Database>::ArgumentBuffer,
            ) -> ::core::result::Result<
                ::model_core::__private::sqlx::encode::IsNull,
                ::model_core::__private::sqlx::error::BoxDynError,
            > {
                <#inner as ::model_core::__private::sqlx::Encode<'__q, __DB>>::encode_by_ref(&self.#member, buf)
            }
            fn produces(
                &self,
            ) -> ::core::option::Option<<__DB as ::model_core::__private::sqlx::Database>::TypeInfo> {
                <#inner as ::model_core::__private::sqlx::Encode<'__q, __DB>>::produces(&self.#member)
            }
            fn size_hint(&self) -> ::core::primitive::usize {
                <#inner as ::model_core::__private::sqlx::Encode<'__q, __DB>>::size_hint(&self.#member)
            }
        }

        #allow
        impl<'__r, __DB: ::model_core::__private::sqlx::Database>
            ::model_core::__private::sqlx::Decode<'__r, __DB> for #ident
        where
            #inner: ::model_core::__private::sqlx::Decode<'__r, __DB>,
        {
            fn decode(
                value: <__DB as ::model_core::__private::sqlx::Database>::ValueRef<'__r>,
            ) -> ::core::result::Result<Self, ::model_core::__private::sqlx::error::BoxDynError> {
                ::core::result::Result::Ok(Self {
                    #member: <#inner as ::model_core::__private::sqlx::Decode<'__r, __DB>>::decode(value)?,
                })
            }
        }

        #allow
        impl<__DB: ::model_core::__private::sqlx::Database> ::model_core::__private::Stored<__DB>
            for #ident
        where
            #inner: ::model_core::__private::Stored<__DB>,
        {
            fn bind<'__q>(
                &self,
                query: ::model_core::__private::Query<'__q, __DB>,
            ) -> ::model_core::__private::Query<'__q, __DB> {
                <#inner as ::model_core::__private::Stored<__DB>>::bind(&self.#member, query)
            }
            fn bind_null(
                query: ::model_core::__private::Query<'_, __DB>,
            ) -> ::model_core::__private::Query<'_, __DB> {
                <#inner as ::model_core::__private::Stored<__DB>>::bind_null(query)
            }
            fn decode(
                value: <__DB as ::model_core::__private::sqlx::Database>::ValueRef<'_>,
            ) -> ::core::result::Result<Self, ::model_core::__private::sqlx::error::BoxDynError> {
                ::core::result::Result::Ok(Self {
                    #member: <#inner as ::model_core::__private::Stored<__DB>>::decode(value)?,
                })
            }
        }

        #allow
        impl ::model_core::__private::ColumnType for #ident
        where
            #inner: #column_bound,
        {
            const __NULLABLE: ::core::primitive::bool =
                <#inner as ::model_core::__private::ColumnType>::__NULLABLE;
            const __SQL_TYPE: ::model_core::__private::SqlType =
                <#inner as ::model_core::__private::ColumnType>::__SQL_TYPE;
            fn __text(&self) -> ::core::option::Option<&::core::primitive::str> {
                <#inner as ::model_core::__private::ColumnType>::__text(&self.#member)
            }
            fn __from_insert_id(id: ::core::primitive::u64) -> ::core::option::Option<Self> {
                ::core::option::Option::map(
                    <#inner as ::model_core::__private::ColumnType>::__from_insert_id(id),
                    |inner| Self { #member: inner },
                )
            }
            fn __generated_id(&self) -> ::core::option::Option<::core::primitive::i64> {
                <#inner as ::model_core::__private::ColumnType>::__generated_id(&self.#member)
            }
            fn __prepare(
                &mut self,
                dialect: ::model_core::__private::Dialect,
            ) -> ::core::result::Result<(), &'static ::core::primitive::str> {
                <#inner as ::model_core::__private::ColumnType>::__prepare(&mut self.#member, dialect)
            }
        }

        // A newtype of a generated key type is one too (`Option<UserId>`). The bound is
        // higher-ranked only so that a false one (`struct Code(String)`) is no error here,
        // only where a generated key is asked of it.
        #allow
        impl ::model_core::__private::GeneratedKey for #ident
        where
            for<'__a> #inner: ::model_core::__private::GeneratedKey,
        {
        }

        // Likewise, a newtype of text takes `#[model(length = n)]`.
        #allow
        impl ::model_core::__private::MaxLength for #ident
        where
            for<'__a> #inner: ::model_core::__private::MaxLength,
        {
        }
    }
}

/// The errors, and stub impls that make the type a column type anyway, so that a model
/// using it reports nothing more. Never run.
pub fn fallback(input: &DeriveInput, errors: &syn::Error) -> TokenStream {
    let errors = errors.to_compile_error();
    let ident = &input.ident;
    // A generic type is itself an error; a stub impl for it would only add more.
    if !input.generics.params.is_empty() {
        return errors;
    }
    let allow = allow();
    quote! {
        #errors

        #allow
        #[allow(unused_variables)]
        impl<__DB: ::model_core::__private::sqlx::Database> ::model_core::__private::Stored<__DB>
            for #ident
        {
            fn bind<'__q>(
                &self,
                query: ::model_core::__private::Query<'__q, __DB>,
            ) -> ::model_core::__private::Query<'__q, __DB> {
                ::core::unreachable!()
            }
            fn bind_null(
                query: ::model_core::__private::Query<'_, __DB>,
            ) -> ::model_core::__private::Query<'_, __DB> {
                ::core::unreachable!()
            }
            fn decode(
                value: <__DB as ::model_core::__private::sqlx::Database>::ValueRef<'_>,
            ) -> ::core::result::Result<Self, ::model_core::__private::sqlx::error::BoxDynError> {
                ::core::unreachable!()
            }
        }

        #allow
        impl ::model_core::__private::ColumnType for #ident {
            const __SQL_TYPE: ::model_core::__private::SqlType =
                ::model_core::__private::SqlType::Text;
        }
    }
}
