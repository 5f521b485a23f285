//! What `#[model(track_changes)]` and `#[model(version)]` add, and only to the models that
//! opt in: the change set type (`PostChanges`), `TrackChanges`, the update listeners called
//! with the change set, and the version column's accessors. A plain model gets none of it.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;

use crate::event::Event;
use crate::valid::{Field, Listener, Model, ReadBack};

/// Whether `event`'s struct-side listeners are called with the change set (by
/// `__before_update` / `__after_update`) rather than by `__run_mut` / `__run_ref`.
pub fn takes_changes(model: &Model<'_>, event: Event) -> bool {
    model.track_changes.is_some() && matches!(event, Event::BeforeUpdate | Event::AfterUpdate)
}

/// The columns in the change set, with their index in `COLUMNS`: all but the key, the
/// version and the `#[model(generated)]` columns, which the database writes.
fn tracked<'m>(model: &'m Model<'_>) -> impl Iterator<Item = (usize, &'m Field<'m>)> + 'm {
    model
        .columns()
        .enumerate()
        .filter(|&(_, (i, field, _))| {
            !model.is_key(i)
                && Some(i) != model.version
                && !field.read_back.is_some_and(ReadBack::is_generated)
        })
        .map(|(index, (_, field, _))| (index, field))
}

/// The `#[model(generated)]` columns' fields.
fn generated<'m>(model: &'m Model<'_>) -> impl Iterator<Item = &'m Field<'m>> + 'm {
    model
        .columns()
        .map(|(_, field, _)| field)
        .filter(|field| field.read_back.is_some_and(ReadBack::is_generated))
}

fn version_index(model: &Model<'_>) -> Option<usize> {
    let version = model.version?;
    model.columns().position(|(i, _, _)| i == version)
}

/// For the `where` clause of the `Model` impl (as `checks::where_clause`): the version
/// column is a `Version`, spanned at its type so that the error names the field.
pub fn model_bounds(model: &Model<'_>) -> TokenStream {
    let version = model.version.map(|i| {
        let ty = model.fields[i].ty;
        let bound = quote_spanned!(ty.span()=> ::model_core::__private::Version);
        quote!(#ty: #bound,)
    });
    quote!(#version)
}

/// For the `where` clause of `impl TrackChanges`: each tracked column can be compared and
/// copied (and the `Model` impl's own bounds, which it relies on).
fn track_bounds(model: &Model<'_>) -> TokenStream {
    let tracked = tracked(model).map(|(_, field)| {
        let ty = field.ty;
        let bound = quote_spanned!(ty.span()=> ::core::cmp::PartialEq + ::core::clone::Clone);
        quote!(#ty: #bound,)
    });
    // A generated column's value is copied to the original values after an update.
    let generated = generated(model).map(|field| {
        let ty = field.ty;
        let bound = quote_spanned!(ty.span()=> ::core::clone::Clone);
        quote!(#ty: #bound,)
    });
    let model_bounds = model_bounds(model);
    quote!(#model_bounds #(#tracked)* #(#generated)*)
}

/// Inside `impl Model`: the version column's constant and accessors, and the tracked
/// update of a bare model (against its stored row).
pub fn model_items(model: &Model<'_>) -> TokenStream {
    let version = model.version.map(|i| {
        let field = &model.fields[i];
        let member = field.ident;
        let ty = field.ty;
        let index = version_index(model);
        quote! {
            const __VERSION: ::core::option::Option<usize> = ::core::option::Option::Some(#index);
            fn __version(&self) -> i64 {
                <#ty as ::model_core::__private::Version>::__to_i64(self.#member)
            }
            fn __set_version(&mut self, __version: i64) {
                self.#member = <#ty as ::model_core::__private::Version>::__from_i64(__version);
            }
            fn __delete_versioned<'__a, __DB: ::model_core::__private::Backend>(
                __models: &'__a [Self],
                __session: &'__a mut ::model_core::__private::Session<'_, __DB>,
            ) -> impl ::core::future::Future<
                Output = ::core::result::Result<(), ::model_core::__private::Error>,
            > + ::core::marker::Send + '__a {
                ::model_core::__private::delete_versioned::<Self, __DB>(__models, __session)
            }
            fn __bind_version<'__q, __DB: ::model_core::__private::Backend>(
                __query: ::model_core::__private::Query<'__q, __DB>,
                __version: i64,
            ) -> ::model_core::__private::Query<'__q, __DB> {
                __DB::bind::<#ty>(
                    __query,
                    &<#ty as ::model_core::__private::Version>::__from_i64(__version),
                )
            }
        }
    });
    let tracked = model.track_changes.is_some().then(|| {
        quote! {
            fn __update_tracked_all<'__a, __DB: ::model_core::__private::Backend>(
                __models: &'__a mut [Self],
                __session: &'__a mut ::model_core::__private::Session<'_, __DB>,
            ) -> ::core::option::Option<
                impl ::core::future::Future<
                    Output = ::core::result::Result<(), ::model_core::__private::Error>,
                > + ::core::marker::Send + '__a,
            > {
                ::core::option::Option::Some(
                    ::model_core::__private::update_bare_all::<Self, __DB>(__models, __session),
                )
            }
        }
    });
    quote!(#version #tracked)
}

/// Beside the model: the change set type and `impl TrackChanges`, for a
/// `#[model(track_changes)]` model; nothing otherwise.
pub fn definition(model: &Model<'_>) -> TokenStream {
    let Some(span) = model.track_changes else {
        return TokenStream::new();
    };
    let ident = model.ident;
    let vis = model.vis;
    let name = format_ident!("{}Changes", ident.unraw());
    let doc = format!(
        "What an update of a `{ident}` changes: one method per column field (but the key), \
         `Some` with the old and the new value if that column changed. What \
         `before_update` and `after_update` listeners of `{ident}` may take after the model; \
         `model_core::ChangeSet` says which columns changed."
    );
    let changed = |ty: &syn::Type| quote!(::model_core::__private::Changed<#ty>);
    let fields = tracked(model).map(|(_, field)| {
        let member = field.ident;
        let ty = changed(field.ty);
        quote!(#member: ::core::option::Option<#ty>,)
    });
    let accessors = tracked(model).map(|(index, field)| {
        let member = field.ident;
        let vis = field.vis;
        let ty = changed(field.ty);
        let doc = format!(
            "The `{}` column: `Some` with its old and new value if the update changes it.",
            model
                .columns()
                .nth(index)
                .map_or("", |(_, _, column)| column)
        );
        quote! {
            #[doc = #doc]
            #[must_use]
            #vis fn #member(&self) -> ::core::option::Option<&#ty> {
                ::core::option::Option::as_ref(&self.#member)
            }
        }
    });
    let diffs = tracked(model).map(|(_, field)| {
        let member = field.ident;
        quote!(#member: ::model_core::__private::changed(&__original.#member, &__current.#member),)
    });
    let each = tracked(model).map(|(index, field)| {
        let member = field.ident;
        quote!(if __changes.#member.is_some() { __each(#index); })
    });
    let binds = tracked(model).map(|(_, field)| {
        let member = field.ident;
        let ty = field.ty;
        quote! {
            let __query = match __changes.#member {
                ::core::option::Option::Some(_) => __DB::bind::<#ty>(__query, &self.#member),
                ::core::option::Option::None => __query,
            };
        }
    });
    let applies = tracked(model).map(|(_, field)| {
        let member = field.ident;
        quote! {
            if let ::core::option::Option::Some(__change) = __changes.#member {
                __original.#member = __change.new;
            }
        }
    });
    let copy_generated = generated(model)
        .map(|field| field.ident)
        .collect::<Vec<_>>();
    let copy_generated = (!copy_generated.is_empty()).then(|| {
        quote! {
            fn __copy_generated(__original: &mut Self, __current: &Self) {
                #(__original.#copy_generated = ::core::clone::Clone::clone(&__current.#copy_generated);)*
            }
        }
    });
    let columns = model.columns().map(|(_, _, column)| column);
    let listeners = update_listeners(model, &name);
    let bounds = track_bounds(model);
    let track = quote_spanned!(span=> ::model_core::__private::TrackChanges);
    quote! {
        #[doc = #doc]
        #vis struct #name {
            #(#fields)*
        }

        #[automatically_derived]
        #[allow(dead_code, unused_qualifications, clippy::all, clippy::pedantic, clippy::nursery)]
        impl #name {
            #(#accessors)*
        }

        #[automatically_derived]
        #[allow(unused_qualifications, clippy::all, clippy::pedantic, clippy::nursery)]
        impl ::model_core::__private::ChangeSet for #name {
            const __COLUMNS: &'static [&'static str] = &[#(#columns),*];

            fn __each_changed(&self, __each: &mut dyn ::core::ops::FnMut(usize)) {
                let __changes = self;
                #(#each)*
            }
        }

        #[automatically_derived]
        #[allow(unused_qualifications, clippy::all, clippy::pedantic, clippy::nursery)]
        impl #track for #ident where #bounds {
            type Changes = #name;

            fn __changes(__original: &Self, __current: &Self) -> #name {
                #name { #(#diffs)* }
            }

            fn __bind_changes<'__q, __DB: ::model_core::__private::Backend>(
                &self,
                __changes: &#name,
                __query: ::model_core::__private::Query<'__q, __DB>,
            ) -> ::model_core::__private::Query<'__q, __DB> {
                #(#binds)*
                __query
            }

            fn __apply(__original: &mut Self, __changes: #name) {
                #(#applies)*
            }

            #copy_generated

            #listeners
        }
    }
}

/// `__before_update` and `__after_update`, each only if the model has struct-side
/// listeners of that event: each listener is called with the change set, in declaration
/// order. The function-side and run-time ones still run through `__run_mut`/`__run_ref`.
fn update_listeners(model: &Model<'_>, changes: &syn::Ident) -> TokenStream {
    let method = |event: Event| {
        let listeners: Vec<&Listener> = model
            .listeners
            .iter()
            .filter(|l| l.event == event)
            .collect();
        if listeners.is_empty() {
            return None;
        }
        let mutable = event == Event::BeforeUpdate;
        let event_path = event.path();
        let calls = listeners.iter().enumerate().map(|(index, listener)| {
            let path = &listener.path;
            let name = crate::ast::path_text(path);
            // One function listed twice (`f`, `self::f`) runs once.
            let repeats = quote! {
                ::model_core::__private::repeats(
                    <Self as ::model_core::__private::Record>::__listeners(),
                    #event_path,
                    #index,
                )
            };
            // Spanned at the path: a function of the wrong shape is reported there.
            if mutable {
                quote_spanned! {path.span()=>
                    if !#repeats {
                        ::model_core::__private::call_before_update::<Self, #changes, __DB, _, _>(
                            &#path, &mut *self, __changes, &mut *__session, #name,
                        ).await?;
                    }
                }
            } else {
                quote_spanned! {path.span()=>
                    if !#repeats {
                        ::model_core::__private::call_after_update::<Self, #changes, __DB, _, _>(
                            &#path, &*self, __changes, &mut *__session, #name,
                        ).await?;
                    }
                }
            }
        });
        let (name, receiver) = if mutable {
            (quote!(__before_update), quote!(&'__a mut self))
        } else {
            (quote!(__after_update), quote!(&'__a self))
        };
        Some(quote! {
            fn #name<'__a, __DB: ::model_core::__private::Backend>(
                #receiver,
                __changes: &'__a #changes,
                __session: &'__a mut ::model_core::__private::Session<'_, __DB>,
            ) -> impl ::core::future::Future<
                Output = ::core::result::Result<(), ::model_core::__private::Error>,
            > + ::core::marker::Send + '__a {
                async move {
                    #(#calls)*
                    ::core::result::Result::Ok(())
                }
            }
        })
    };
    let before = method(Event::BeforeUpdate);
    let after = method(Event::AfterUpdate);
    quote!(#before #after)
}
