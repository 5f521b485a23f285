//! `Model::__COLUMN_DEFS`: one constant per model describing its columns for the DDL that
//! `model_core::schema` writes at run time. No SQL is generated here.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use crate::valid::{Model, OnDelete};

pub fn columns(model: &Model<'_>) -> TokenStream {
    let defs = model.columns().map(|(_, field, _)| {
        let ty = field.ty;
        let schema = &field.schema;
        let length = match schema.length {
            Some((n, _)) => quote!(::core::option::Option::Some(#n)),
            None => quote!(::core::option::Option::None),
        };
        let decimal = match schema.decimal {
            Some(digits) => {
                let (precision, scale) = (digits.precision, digits.scale);
                quote!(::core::option::Option::Some((#precision, #scale)))
            }
            None => quote!(::core::option::Option::None),
        };
        let default = match &schema.default {
            Some(sql) => quote!(::core::option::Option::Some(#sql)),
            None => quote!(::core::option::Option::None),
        };
        let generated = match &schema.generated {
            Some(sql) => quote!(::core::option::Option::Some(#sql)),
            None => quote!(::core::option::Option::None),
        };
        let references = match &schema.references {
            Some(references) => {
                let path = &references.model;
                let on_delete = match references.on_delete {
                    Some(action) => {
                        let action = match action {
                            OnDelete::Cascade => quote!(Cascade),
                            OnDelete::Restrict => quote!(Restrict),
                            OnDelete::SetNull => quote!(SetNull),
                        };
                        quote!(::core::option::Option::Some(::model_core::__private::OnDelete::#action))
                    }
                    None => quote!(::core::option::Option::None),
                };
                // Every token at the path, the field's type too: "`X` is not a model" and
                // "this field cannot hold `X`'s key" are reported there, once.
                let span = path.span();
                let field_ty = respan(ty, span);
                let on_delete = respan(on_delete, span);
                quote_spanned! {span=>
                    ::core::option::Option::Some(
                        ::model_core::__private::references::<#path, #field_ty>(#on_delete)
                    )
                }
            }
            None => quote!(::core::option::Option::None),
        };
        let (unique, index) = (schema.unique, schema.index);
        quote! {
            ::model_core::__private::ColumnDef {
                sql_type: <#ty as ::model_core::__private::ColumnType>::__SQL_TYPE,
                nullable: <#ty as ::model_core::__private::ColumnType>::__NULLABLE,
                length: #length,
                decimal: #decimal,
                unique: #unique,
                index: #index,
                default: #default,
                generated: #generated,
                references: #references,
            }
        }
    });
    quote! {
        const __COLUMN_DEFS: &'static [::model_core::__private::ColumnDef] = &[#(#defs),*];
    }
}

/// One `const` item per column with a `precision` (and `scale`), which fails to compile
/// unless the column's type is stored as a decimal (`Decimal`, an `Option` or a newtype of
/// one), at the `precision`'s literal: the derive sees only the type's name.
///
/// A free `const`, not an associated one: rustc evaluates it whether or not the model's
/// schema is ever used.
pub fn decimal_checks(model: &Model<'_>) -> TokenStream {
    let checks = model.columns().filter_map(|(_, field, _)| {
        let span = field.schema.decimal?.span;
        let ty = field.ty;
        let message = format!(
            "`precision` and `scale` size a decimal column: `{}` must be a `rust_decimal::Decimal` (or an `Option` or a newtype of one), not `{}`; or drop them",
            field.ident,
            quote!(#ty).to_string().replace(' ', ""),
        );
        let ty = respan(ty, span);
        Some(quote_spanned! {span=>
            const _: () = ::core::assert!(
                ::core::matches!(
                    <#ty as ::model_core::__private::ColumnType>::__SQL_TYPE,
                    ::model_core::__private::SqlType::Decimal
                ),
                #message
            );
        })
    });
    quote! { #(#checks)* }
}

/// `tokens` with every span set to `span`.
fn respan(tokens: impl quote::ToTokens, span: proc_macro2::Span) -> TokenStream {
    use proc_macro2::{Group, TokenTree};
    tokens
        .into_token_stream()
        .into_iter()
        .map(|token| match token {
            TokenTree::Group(group) => {
                let mut inner = Group::new(group.delimiter(), respan(group.stream(), span));
                inner.set_span(span);
                TokenTree::Group(inner)
            }
            mut other => {
                other.set_span(span);
                other
            }
        })
        .collect()
}
