//! The listener manifest and the methods that call the listeners, in declaration order.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use crate::event::Event;
use crate::valid::{Listener, Model};

/// `LISTENERS`: every listener with its event and position.
pub fn manifest(model: &Model<'_>) -> TokenStream {
    let entries = model.listeners.iter().map(|listener| {
        let event = listener.event.path();
        let name = path_text(&listener.path);
        let order = listener.order;
        quote! {
            ::model_core::__private::ListenerInfo {
                event: #event,
                listener: #name,
                order: #order,
            }
        }
    });
    quote!(&[#(#entries),*])
}

/// `__struct_mut` and `__struct_ref`, each only if some listener needs it; the trait's
/// defaults (no listeners) cover the rest.
pub fn run_methods(model: &Model<'_>) -> TokenStream {
    let run_mut = run_method(model, true);
    let run_ref = run_method(model, false);
    let after_commit = after_commit_method(model);
    let registry = registry_methods(model);
    quote!(#run_mut #run_ref #after_commit #registry)
}

/// `__listeners`, the model's cell of function-side and run-time listeners (one static:
/// a write checks one atomic word in it), and `__values`, what a listener of every model
/// reads: one line per column.
fn registry_methods(model: &Model<'_>) -> TokenStream {
    let ident = model.ident;
    let share = share(model);
    let values = model.columns().map(|(_, field, _)| {
        let member = field.ident;
        quote! {
            __values.push((&::model_core::__private::Probe(&self.#member)).__value());
        }
    });
    // The name and the manifest are written again rather than read from `<#ident as
    // Model>`: a static cannot name `Self`, and an impl with an error would give a second.
    let name = ident.to_string();
    let manifest = manifest(model);
    quote! {
        fn __listeners() -> &'static ::model_core::__private::Listeners {
            static LISTENERS: ::model_core::__private::Listeners =
                ::model_core::__private::Listeners::new(
                    ::core::any::TypeId::of::<#ident>,
                    #name,
                    #manifest,
                    ::core::module_path!(),
                    #share,
                );
            &LISTENERS
        }

        fn __values(&self, __values: &mut ::std::vec::Vec<::model_core::__private::Value>) {
            #[allow(unused_imports)]
            use ::model_core::__private::{ViaFallback as _, ViaToValue as _};
            #(#values)*
        }
    }
}

/// The model's `Share` for its cell: the clone a row's struct-side `before_commit`
/// listeners get at the commit, spanned at the first of them (a model that is not `Clone`
/// is reported there). `None` without one: a function-side or run-time `before_commit`
/// listener gives the cell its own where it is declared, so other models compile no clone.
fn share(model: &Model<'_>) -> TokenStream {
    let ident = model.ident;
    match model
        .listeners
        .iter()
        .find(|l| l.event == Event::BeforeCommit)
    {
        Some(first) => {
            // The model named with the listener's span: the error is reported at the type.
            let mut ident = ident.clone();
            ident.set_span(first.path.span());
            quote_spanned! {first.path.span()=>
                ::core::option::Option::Some(::model_core::__private::share_row::<#ident>)
            }
        }
        None => quote!(::core::option::Option::None),
    }
}

/// `__after_commit`, if some listener needs it: queues each listener of an `after_*_commit`
/// or `after_rollback` event with one shared clone of the model, since they run after the
/// write has returned.
fn after_commit_method(model: &Model<'_>) -> Option<TokenStream> {
    let arms: Vec<TokenStream> = Event::ALL
        .into_iter()
        .filter(|event| event.is_after_transaction())
        .filter_map(|event| {
            let listeners: Vec<&Listener> = model
                .listeners
                .iter()
                .filter(|l| l.event == event)
                .collect();
            let first = listeners.first()?;
            // Spanned at the first listener: a model that is not `Clone` is reported there.
            let share = quote_spanned! {first.path.span()=>
                let __shared = ::model_core::__private::share::<Self>(self);
            };
            // One function listed twice (`f`, `self::f`) is queued once.
            let event_path = event.path();
            let pushes = listeners.iter().enumerate().map(|(index, l)| {
                let path = &l.path;
                quote_spanned! {path.span()=>
                    if !::model_core::__private::repeats(
                        <Self as ::model_core::__private::Record>::__listeners(),
                        #event_path,
                        #index,
                    ) {
                        __queue.push(::model_core::__private::commit_callback::<Self, _, _>(
                            #path,
                            <::std::sync::Arc<Self> as ::core::clone::Clone>::clone(&__shared),
                        ));
                    }
                }
            });
            Some(quote! {
                #event_path => {
                    #share
                    #(#pushes)*
                }
            })
        })
        .collect();
    if arms.is_empty() {
        return None;
    }
    Some(quote! {
        fn __after_commit(
            &self,
            __event: ::model_core::__private::Event,
            __queue: &mut ::std::vec::Vec<::model_core::__private::Callback>,
        ) {
            #[allow(unreachable_patterns)]
            match __event {
                #(#arms)*
                _ => {}
            }
        }
    })
}

/// `__struct_mut` or `__struct_ref`: the `index`-th struct-side listener of an event, as a
/// function pointer and its name. `model_core::events::run_mut`/`run_ref` walk them, then the
/// function-side and run-time ones: that loop and its future are compiled once per backend,
/// and a model adds only this `match` and one small function per listener (issue 10).
fn run_method(model: &Model<'_>, mutable: bool) -> Option<TokenStream> {
    let arms: Vec<TokenStream> = Event::ALL
        .into_iter()
        .filter(|event| event.is_mutable() == mutable && !event.is_after_transaction())
        // A change-tracking model's update listeners take the change set: expand/changes.rs.
        .filter(|event| !super::changes::takes_changes(model, *event))
        .flat_map(|event| {
            model
                .listeners
                .iter()
                .filter(move |l| l.event == event)
                .enumerate()
                .map(move |(index, l)| {
                    let path = event.path();
                    let call = call(l, mutable);
                    quote!((#path, #index) => #call,)
                })
        })
        .collect();
    if arms.is_empty() {
        return None;
    }
    let (name, own) = if mutable {
        (quote!(__struct_mut), quote!(OwnMut))
    } else {
        (quote!(__struct_ref), quote!(OwnRef))
    };
    Some(quote! {
        fn #name<__DB: ::model_core::__private::Backend>(
            __event: ::model_core::__private::Event,
            __index: usize,
        ) -> ::model_core::__private::#own<__DB> {
            #[allow(unreachable_patterns)]
            match (__event, __index) {
                #(#arms)*
                _ => ::core::option::Option::None,
            }
        }
    })
}

/// One listener as a function pointer: a closure that calls it through the listener traits.
/// Spanned at the listener's path, so that a function with the wrong signature is reported
/// at the path in the attribute.
fn call(listener: &Listener, mutable: bool) -> TokenStream {
    let path = &listener.path;
    let name = path_text(path);
    let span = path.span();
    let (own, shim) = if mutable {
        (quote!(own_mut), quote!(shim_mut))
    } else {
        (quote!(own_ref), quote!(shim_ref))
    };
    let call = quote_spanned! {span=>
        ::model_core::__private::#shim::<Self, __DB, _, _>(&#path, __model, __session)
    };
    quote! {
        ::model_core::__private::#own::<__DB>(|__model, __session| #call, #name)
    }
}

/// The path as the user wrote it, without the spaces `to_string` puts around `::`.
fn path_text(path: &syn::Path) -> String {
    quote!(#path).to_string().replace(' ', "")
}
