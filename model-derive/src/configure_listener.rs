//! `#[model_core::listens_for(model_configured)]` (and `before_model_configured`,
//! `before_configured`, `after_configured`) on a function: a configuration listener,
//! registered in the linker-gathered `CONFIGURE_LISTENERS` and run before the program's
//! first read or write of each model (`model_core::configure`). The compiler checks its
//! shape through the shim, at the function's name.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::{Ident, ItemFn};

/// What a configuration listener gets and returns.
#[derive(Clone, Copy)]
enum Shape {
    /// `fn(&[&ModelInfo])`.
    Models,
    /// `fn(&ModelInfo)`.
    Model,
    /// `fn(&ModelInfo) -> Configure`.
    Decide,
}

/// The configuration events by name, with their `ConfigureEvent` variant and shape.
const EVENTS: [(&str, &str, Shape); 4] = [
    (
        "before_model_configured",
        "BeforeModelConfigured",
        Shape::Decide,
    ),
    ("before_configured", "BeforeConfigured", Shape::Models),
    ("model_configured", "ModelConfigured", Shape::Model),
    ("after_configured", "AfterConfigured", Shape::Models),
];

/// Whether `name` is a configuration event.
pub fn is_event(name: &str) -> bool {
    EVENTS.iter().any(|(event, ..)| *event == name)
}

/// The function, and its registration; or the function with the error.
pub fn expand(event: &Ident, function: ItemFn) -> TokenStream {
    let name = event.to_string();
    let Some(&(_, variant, shape)) = EVENTS.iter().find(|(e, ..)| *e == name) else {
        unreachable!("expand is called for a configuration event");
    };
    if let Some(asyncness) = &function.sig.asyncness {
        let error = syn::Error::new_spanned(
            asyncness,
            format!("{} `{name}` listener is a plain function: it runs before the first read or write, where nothing awaits it", if name.starts_with('a') { "an" } else { "a" }),
        )
        .to_compile_error();
        return quote!(#error #function);
    }
    let p = quote!(::model_core::__private);
    let ident = &function.sig.ident;
    let span = ident.span();
    let variant = Ident::new(variant, span);
    let (shim, call) = match shape {
        Shape::Model => (
            quote_spanned! {span=>
                fn __shim(__model: &'static ::model_core::ModelInfo) {
                    #p::ModelConfigured::__call(&#ident, __model)
                }
            },
            quote!(#p::ConfigureCall::Model(__shim)),
        ),
        Shape::Decide => (
            quote_spanned! {span=>
                fn __shim(__model: &'static ::model_core::ModelInfo) -> ::model_core::Configure {
                    #p::BeforeModelConfigured::__call(&#ident, __model)
                }
            },
            quote!(#p::ConfigureCall::Decide(__shim)),
        ),
        Shape::Models => (
            quote_spanned! {span=>
                fn __shim(__models: &'static [&'static ::model_core::ModelInfo]) {
                    #p::Configured::__call(&#ident, __models)
                }
            },
            quote!(#p::ConfigureCall::Models(__shim)),
        ),
    };
    let fn_name = ident.to_string();
    let registration = crate::hygienic(quote! {
        #[allow(non_upper_case_globals, unused_qualifications, clippy::all, clippy::pedantic)]
        const _: () = {
            #shim
            #[#p::linkme::distributed_slice(#p::CONFIGURE_LISTENERS)]
            #[linkme(crate = #p::linkme)]
            static __REGISTRATION: #p::ConfigureListener = #p::ConfigureListener {
                event: ::model_core::ConfigureEvent::#variant,
                name: ::core::concat!(::core::module_path!(), "::", #fn_name),
                call: #call,
            };
        };
    });
    quote!(#function #registration)
}
