//! `before_query` listeners: `#[model_core::listens_for(before_query)] fn f(q: Select<Post>)
//! -> Select<Post>` on a function, and `#[listens_for(before_query, f)]` on the struct. Both
//! become one entry of the linker-gathered `FUNCTION_LISTENERS`, like a function-side row
//! listener; the struct's are not in the model's row-listener manifest, whose walkers call
//! listeners of a row, not of a query. The listener's shape is checked by the compiler
//! through `QueryListener`, at the function's name.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{FnArg, ItemFn, Type};

/// The event's name.
pub const EVENT: &str = "before_query";

/// `#[listens_for(before_query)]` or `#[listens_for(Post, before_query)]` on a function: the
/// function, and its registration; or the function with the error.
pub fn expand_fn(model: Option<Type>, function: ItemFn) -> TokenStream {
    let sig = &function.sig;
    let error = if let Some(asyncness) = &sig.asyncness {
        Some(syn::Error::new_spanned(
            asyncness,
            "a `before_query` listener is a plain `fn(Select<Post>) -> Select<Post>`: it narrows the query before its SQL is written, and sends nothing itself",
        ))
    } else if sig.inputs.len() != 1 || !sig.generics.params.is_empty() {
        Some(syn::Error::new_spanned(
            &sig.inputs,
            "a `before_query` listener takes one argument, the query: `fn(query: Select<Post>) -> Select<Post>`",
        ))
    } else {
        None
    };
    if let Some(error) = error {
        let error = error.to_compile_error();
        return quote!(#error #function);
    }
    let model = match model {
        Some(model) => model.into_token_stream(),
        None => match sig.inputs.first() {
            Some(FnArg::Typed(arg)) => {
                let ty = &arg.ty;
                quote_spanned!(ty.span()=> <#ty as ::model_core::__private::QueryOf>::Model)
            }
            _ => {
                let error = syn::Error::new_spanned(
                    &sig.inputs,
                    "a `before_query` listener is a free function taking the query: `fn(query: Select<Post>) -> Select<Post>`",
                )
                .to_compile_error();
                return quote!(#error #function);
            }
        },
    };
    let ident = &sig.ident;
    let registration = register(
        &model,
        &quote!(#ident),
        &ident.to_string(),
        ident.span(),
        false,
    );
    quote!(#function #registration)
}

/// The struct's `#[listens_for(before_query, f, g)]`: one registration per listener.
pub fn struct_side(model: &syn::Ident, paths: &[syn::Path]) -> TokenStream {
    let model = quote!(#model);
    paths
        .iter()
        .map(|path| {
            let name = path.to_token_stream().to_string().replace(' ', "");
            let span = path
                .segments
                .last()
                .map_or_else(Span::call_site, |s| s.ident.span());
            register(&model, &quote!(#path), &name, span, true)
        })
        .collect()
}

/// One entry of `FUNCTION_LISTENERS` for the `before_query` listener `path` of `model`.
///
/// A struct-side one is named by its path as written (the registry resolves it from the
/// model's module, to run a function named both ways once); a function-side one by its
/// module path and name.
fn register(
    model: &TokenStream,
    path: &TokenStream,
    name: &str,
    span: Span,
    struct_side: bool,
) -> TokenStream {
    let p = quote!(::model_core::__private);
    let (name, entry) = if struct_side {
        (quote!(#name), quote!(StructQuery))
    } else {
        (
            quote!(::core::concat!(::core::module_path!(), "::", #name)),
            quote!(Model),
        )
    };
    let call = quote_spanned! {span=>
        #p::shim_query::<#model, _, _>(#path, __query)
    };
    crate::hygienic(quote! {
        #[allow(non_upper_case_globals, unused_qualifications, clippy::all, clippy::pedantic)]
        const _: () = {
            fn __shim(
                __query: &mut dyn ::core::any::Any,
            ) -> ::core::result::Result<(), #p::BoxError> {
                #call
            }
            static __REGISTERED: #p::Registered = #p::Registered {
                model: ::core::any::TypeId::of::<#model>,
                event: #p::Event::BeforeQuery,
                name: #name,
                shims: #p::Shims::Query(__shim),
                share: ::core::option::Option::None,
            };
            #[#p::linkme::distributed_slice(#p::FUNCTION_LISTENERS)]
            #[linkme(crate = #p::linkme)]
            static __REGISTRATION: #p::Registration = #p::Registration::#entry(&__REGISTERED);
        };
    })
}
