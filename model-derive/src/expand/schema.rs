//! `Model::__COLUMN_DEFS`: one constant per model describing its columns for the DDL that
//! `model_core::schema` writes at run time. No SQL is generated here.

use proc_macro2::TokenStream;
use quote::quote;

use crate::valid::Model;

pub fn columns(model: &Model<'_>) -> TokenStream {
    let defs = model.columns().map(|(_, field, _)| {
        let ty = field.ty;
        let schema = &field.schema;
        let length = match schema.length {
            Some((n, _)) => quote!(::core::option::Option::Some(#n)),
            None => quote!(::core::option::Option::None),
        };
        let default = match &schema.default {
            Some(sql) => quote!(::core::option::Option::Some(#sql)),
            None => quote!(::core::option::Option::None),
        };
        let (unique, index) = (schema.unique, schema.index);
        quote! {
            ::model_core::__private::ColumnDef {
                sql_type: <#ty as ::model_core::__private::ColumnType>::__SQL_TYPE,
                nullable: <#ty as ::model_core::__private::ColumnType>::__NULLABLE,
                length: #length,
                unique: #unique,
                index: #index,
                default: #default,
            }
        }
    });
    quote! {
        const __COLUMN_DEFS: &'static [::model_core::__private::ColumnDef] = &[#(#defs),*];
    }
}
