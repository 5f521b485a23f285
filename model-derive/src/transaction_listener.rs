//! `#[model_core::listens_for(transaction_after_commit)]` on a function: a listener of the
//! transaction itself (`model_core::TransactionEvent`), registered in the linker-gathered
//! `TRANSACTION_LISTENERS`. Its one argument is `&model_core::TransactionInfo`; the
//! compiler checks that through the shim, at the function's name.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::{Ident, ItemFn};

/// The transaction events by name: their `TransactionEvent` variant, and whether a
/// listener may veto (return `Result`).
const EVENTS: [(&str, &str, bool); 7] = [
    ("transaction_begin", "Begin", false),
    ("transaction_before_commit", "BeforeCommit", true),
    ("transaction_after_commit", "AfterCommit", false),
    ("transaction_after_rollback", "AfterRollback", false),
    ("savepoint_begin", "SavepointBegin", false),
    ("savepoint_release", "SavepointRelease", false),
    ("savepoint_rollback", "SavepointRollback", false),
];

/// Whether `name` is a transaction event.
pub fn is_event(name: &str) -> bool {
    EVENTS.iter().any(|(event, ..)| *event == name)
}

/// The function, and its registration; or the function with the error.
pub fn expand(event: &Ident, function: ItemFn) -> TokenStream {
    let name = event.to_string();
    let Some(&(_, variant, vetoes)) = EVENTS.iter().find(|(e, ..)| *e == name) else {
        unreachable!("expand is called for a transaction event");
    };
    let sig = &function.sig;
    let error = if let Some(asyncness) = &sig.asyncness {
        Some(syn::Error::new_spanned(
            asyncness,
            "a transaction listener declared on the function is a plain `fn(&model_core::TransactionInfo)`: for SQL right before the commit register `model_core::TransactionListeners::new().before_commit_with(..)` at run time; for async work after the commit, spawn it",
        ))
    } else if sig.inputs.len() != 1 || !sig.generics.params.is_empty() {
        Some(syn::Error::new_spanned(
            &sig.inputs,
            format!("a `{name}` listener takes one argument, `tx: &model_core::TransactionInfo`"),
        ))
    } else {
        None
    };
    if let Some(error) = error {
        let error = error.to_compile_error();
        return quote!(#error #function);
    }
    let ident = &sig.ident;
    let p = quote!(::model_core::__private);
    let variant = Ident::new(variant, ident.span());
    // Spanned at the function's name: a wrong argument or return type is reported there.
    let (shim, call) = match vetoes {
        true => (
            quote_spanned! {ident.span()=>
                fn __shim(
                    __info: &::model_core::TransactionInfo,
                ) -> ::core::result::Result<(), ::model_core::BoxError> {
                    #p::CheckTransaction::check(&#ident, __info)
                }
            },
            quote!(#p::TransactionFn::Check(__shim)),
        ),
        false => (
            quote_spanned! {ident.span()=>
                fn __shim(__info: &::model_core::TransactionInfo) {
                    #p::ObserveTransaction::observe(&#ident, __info)
                }
            },
            quote!(#p::TransactionFn::Observe(__shim)),
        ),
    };
    let registration = crate::hygienic(quote! {
        #[doc(hidden)]
        const _: () = {
            #shim
            #[#p::linkme::distributed_slice(#p::TRANSACTION_LISTENERS)]
            #[linkme(crate = #p::linkme)]
            static __REGISTRATION: #p::TransactionRegistration = #p::TransactionRegistration {
                event: ::model_core::TransactionEvent::#variant,
                name: ::core::concat!(::core::module_path!(), "::", ::core::stringify!(#ident)),
                call: #call,
            };
        };
    });
    quote!(#function #registration)
}
