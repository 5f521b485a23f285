//! `#[model_core::listens_for(model_configured)]` (and `before_configured`,
//! `after_configured`) on a function: a configuration listener, registered in the
//! linker-gathered `CONFIGURE_LISTENERS` and run once, before the program's first read or
//! write (`model_core::configure`). The compiler checks its shape through the shim, at the
//! function's name.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::{Ident, ItemFn};

/// The configuration events by name: their `ConfigureEvent` variant, and whether the
/// listener gets one model (else every model).
const EVENTS: [(&str, &str, bool); 3] = [
    ("before_configured", "BeforeConfigured", false),
    ("model_configured", "ModelConfigured", true),
    ("after_configured", "AfterConfigured", false),
];

/// Whether `name` is a configuration event.
pub fn is_event(name: &str) -> bool {
    EVENTS.iter().any(|(event, ..)| *event == name)
}

/// The function, and its registration; or the function with the error.
pub fn expand(event: &Ident, function: ItemFn) -> TokenStream {
    let name = event.to_string();
    let Some(&(_, variant, one_model)) = EVENTS.iter().find(|(e, ..)| *e == name) else {
        unreachable!("expand is called for a configuration event");
    };
    if let Some(asyncness) = &function.sig.asyncness {
        let error = syn::Error::new_spanned(
            asyncness,
            format!("a `{name}` listener is a plain function: it runs once, before the first read or write, where nothing awaits it"),
        )
        .to_compile_error();
        return quote!(#error #function);
    }
    let p = quote!(::model_core::__private);
    let ident = &function.sig.ident;
    let span = ident.span();
    let variant = Ident::new(variant, span);
    let (shim, call) = if one_model {
        (
            quote_spanned! {span=>
                fn __shim(__model: &'static ::model_core::ModelInfo) {
                    #p::ModelConfigured::__call(&#ident, __model)
                }
            },
            quote!(#p::ConfigureCall::Model(__shim)),
        )
    } else {
        (
            quote_spanned! {span=>
                fn __shim(__models: &'static [&'static ::model_core::ModelInfo]) {
                    #p::Configured::__call(&#ident, __models)
                }
            },
            quote!(#p::ConfigureCall::Models(__shim)),
        )
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
