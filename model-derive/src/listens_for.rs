//! `#[listens_for]` on a function, or on an `impl` block whose methods carry
//! `#[listens_for(event)]`: registers them as listeners of the model their first argument
//! (or the attribute, or the `impl`) names, or of every model for `&dyn AnyModel`.
//!
//! Parse, check, expand, as the derive: every error is spanned at the token to change, and
//! a function with an error is emitted unchanged and unregistered, so the error stands alone.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::parse::{ParseStream, Parser};
use syn::{Attribute, FnArg, Ident, ImplItem, Item, ItemImpl, LitStr, Signature, Token, Type};

use crate::event::{unknown_event_message, Event};

const FORM: &str = "`#[listens_for(before_insert)]` (the model is the first argument's type) or `#[listens_for(Post, before_insert)]`";

/// The attribute's arguments: an optional model, then the event.
struct Args {
    model: Option<Type>,
    event: Ident,
}

fn parse_args(tokens: TokenStream) -> syn::Result<Args> {
    let parser = |input: ParseStream<'_>| {
        if input.peek(LitStr) {
            let quoted: LitStr = input.parse()?;
            return Err(syn::Error::new(
                quoted.span(),
                format!(
                    "write the event without quotes: `#[listens_for({})]`",
                    quoted.value()
                ),
            ));
        }
        let first: Type = input
            .parse()
            .map_err(|e| syn::Error::new(e.span(), format!("expected an event: {FORM}")))?;
        if input.is_empty() {
            return match as_ident(&first) {
                Some(event) => Ok(Args { model: None, event }),
                None => Err(syn::Error::new_spanned(
                    first,
                    format!("missing the event after the model: {FORM}"),
                )),
            };
        }
        input.parse::<Token![,]>()?;
        let event: Ident = input
            .parse()
            .map_err(|e| syn::Error::new(e.span(), format!("expected an event name: {FORM}")))?;
        let _ = input.parse::<Option<Token![,]>>()?;
        if !input.is_empty() {
            return Err(input.error(format!(
                "one model and one event per attribute: {FORM}; repeat the attribute for another event"
            )));
        }
        Ok(Args {
            model: Some(first),
            event,
        })
    };
    parser.parse2(tokens)
}

fn as_ident(ty: &Type) -> Option<Ident> {
    match ty {
        Type::Path(path) if path.qself.is_none() => path.path.get_ident().cloned(),
        _ => None,
    }
}

/// Whom a listener listens to.
enum Target {
    Model(Box<Type>),
    Every,
}

/// `dyn AnyModel` (any path ending in `AnyModel`, with or without `dyn`).
fn is_any_model(ty: &Type) -> bool {
    let last = |path: &syn::Path| path.segments.last().is_some_and(|s| s.ident == "AnyModel");
    match ty {
        Type::TraitObject(object) => object.bounds.iter().any(|bound| match bound {
            syn::TypeParamBound::Trait(t) => last(&t.path),
            _ => false,
        }),
        Type::Path(path) => path.qself.is_none() && last(&path.path),
        Type::Paren(inner) => is_any_model(&inner.elem),
        Type::Group(inner) => is_any_model(&inner.elem),
        _ => false,
    }
}

/// One checked listener, ready to register.
struct Listener {
    event: Event,
    target: Target,
    /// The expression that names the function: `set_created_at`, `<Post>::stamp`.
    path: TokenStream,
    /// Where type errors of the listener's shape are reported: the function's name.
    span: Span,
    /// `set_created_at`, `Post::stamp`: appended to the module path.
    name: String,
}

pub fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let item: Item = match syn::parse2(item.clone()) {
        Ok(item) => item,
        Err(error) => return with_errors(item, error),
    };
    match item {
        Item::Fn(function) => {
            // `#[listens_for(transaction_after_commit)]`: a listener of the transaction.
            if let Ok(event) = syn::parse2::<Ident>(args.clone()) {
                if crate::transaction_listener::is_event(&event.to_string()) {
                    return crate::transaction_listener::expand(&event, function);
                }
                if crate::configure_listener::is_event(&event.to_string()) {
                    return crate::configure_listener::expand(&event, function);
                }
            }
            if let Ok(parsed) = parse_args(args.clone()) {
                if parsed.event == crate::query_listener::EVENT {
                    return crate::query_listener::expand_fn(parsed.model, function);
                }
            }
            let result = parse_args(args).and_then(|args| {
                duplicate_check(&function.attrs, &args)?;
                check_function(&function.sig, args)
            });
            match result {
                Ok(listener) => {
                    let registration = crate::hygienic(register(&listener));
                    quote!(#function #registration)
                }
                Err(error) => with_errors(function.into_token_stream(), error),
            }
        }
        Item::Impl(block) => {
            if !args.is_empty() {
                let error = syn::Error::new_spanned(
                    &args,
                    "on an `impl` block `#[listens_for]` takes no arguments: put `#[listens_for(event)]` on each listener method",
                );
                return with_errors(block.into_token_stream(), error);
            }
            expand_impl(block)
        }
        Item::Struct(item) => with_errors(
            item.to_token_stream(),
            syn::Error::new(
                Span::call_site(),
                "`model_core::listens_for` goes on a function or an `impl` block; on a struct, `#[listens_for(event, listener)]` is `#[derive(Model)]`'s own attribute: do not import `model_core::listens_for` where the struct is",
            ),
        ),
        other => with_errors(
            other.to_token_stream(),
            syn::Error::new(
                Span::call_site(),
                "`#[listens_for]` goes on a listener function, or on an `impl` block of a model whose methods carry `#[listens_for(event)]`",
            ),
        ),
    }
}

fn with_errors(item: TokenStream, error: syn::Error) -> TokenStream {
    let error = error.to_compile_error();
    quote!(#error #item)
}

/// A second `#[listens_for]` with the same arguments on the same function would register it
/// twice, and it would run twice.
fn duplicate_check(attrs: &[Attribute], args: &Args) -> syn::Result<()> {
    let text = |model: &Option<Type>, event: &Ident| {
        let model = model.as_ref().map(|m| m.to_token_stream().to_string());
        (model, event.to_string())
    };
    let this = text(&args.model, &args.event);
    for attr in attrs.iter().filter(|a| is_listens_for(a)) {
        let Ok(list) = attr.meta.require_list() else {
            continue;
        };
        if let Ok(other) = parse_args(list.tokens.clone()) {
            if text(&other.model, &other.event) == this {
                return Err(syn::Error::new_spanned(
                    attr,
                    format!("this function already listens to `{}` here; registered twice it would run twice", args.event),
                ));
            }
        }
    }
    Ok(())
}

fn is_listens_for(attr: &Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|s| s.ident == "listens_for")
}

fn event_of(ident: &Ident) -> syn::Result<Event> {
    let name = ident.to_string();
    if name == crate::query_listener::EVENT {
        return Err(syn::Error::new(
            ident.span(),
            "a `before_query` listener is a free function, `#[model_core::listens_for(before_query)] fn f(query: Select<Post>) -> Select<Post>`, or is listed on the struct: `#[listens_for(before_query, f)]`",
        ));
    }
    if Event::from_name(&name).is_none() && name.starts_with(|c: char| c.is_ascii_uppercase()) {
        return Err(syn::Error::new(
            ident.span(),
            format!("`{name}` looks like a model; the event is missing: `#[listens_for({name}, before_insert)]`"),
        ));
    }
    Event::from_name(&name)
        .ok_or_else(|| syn::Error::new(ident.span(), unknown_event_message(&name)))
}

/// A free function: the model is named, or the first argument's referent.
fn check_function(sig: &Signature, args: Args) -> syn::Result<Listener> {
    let event = event_of(&args.event)?;
    let first = sig.inputs.first();
    if let Some(FnArg::Receiver(receiver)) = first {
        return Err(syn::Error::new_spanned(
            receiver,
            "a method listens through its `impl` block: put `#[model_core::listens_for]` on the `impl`, and `#[listens_for(event)]` on the method",
        ));
    }
    let argument = match first {
        Some(FnArg::Typed(arg)) => Some(&*arg.ty),
        _ => None,
    };
    let target = match (&args.model, argument) {
        (Some(model), _) if is_any_model(model) => Target::Every,
        (Some(model), _) => Target::Model(Box::new(model.clone())),
        (None, Some(Type::Reference(reference))) if is_any_model(&reference.elem) => Target::Every,
        (None, Some(Type::Reference(reference))) => Target::Model(reference.elem.clone()),
        (None, Some(other)) => {
            return Err(syn::Error::new_spanned(
                other,
                format!("a listener's first argument is the model, `&mut Post` or `&Post`; or name the model: {FORM}"),
            ))
        }
        (None, None) => {
            return Err(syn::Error::new_spanned(
                &sig.ident,
                format!("a listener takes the model as its first argument, `&mut Post` or `&Post`: {FORM}"),
            ))
        }
    };
    if let Some(Type::Reference(reference)) = argument {
        check_mutability(event, &target, reference.mutability.is_some(), reference)?;
    }
    let ident = &sig.ident;
    Ok(Listener {
        event,
        target,
        path: quote!(#ident),
        span: ident.span(),
        name: ident.to_string(),
    })
}

/// The reference the listener takes must be the one its event hands out: said here, at the
/// argument, rather than as a trait error.
fn check_mutability(
    event: Event,
    target: &Target,
    mutable: bool,
    at: &dyn ToTokens,
) -> syn::Result<()> {
    let name = event.name();
    let message = match target {
        Target::Every if mutable => Some(format!(
            "a listener of every model takes `&dyn AnyModel`: it reads the model, whatever the event (`{name}` here)"
        )),
        Target::Model(model)
            if mutable && matches!(event, Event::BeforeCommit | Event::AfterRollback) =>
        {
            Some(format!(
                "`{name}` listeners take `&{}`: the row is already written (or rolled back), so a change would never be stored",
                model.to_token_stream().to_string().replace(' ', "")
            ))
        }
        Target::Model(model) if mutable && !event.is_mutable() => Some(format!(
            "`{name}` listeners take `&{}`: a change made after the statement, or to a row being deleted, would never be written",
            model.to_token_stream().to_string().replace(' ', "")
        )),
        Target::Model(model) if !mutable && event.is_mutable() => Some(format!(
            "`{name}` listeners take `&mut {}`, to change the row before it is written (or as it is loaded)",
            model.to_token_stream().to_string().replace(' ', "")
        )),
        _ => None,
    };
    match message {
        Some(message) => Err(syn::Error::new_spanned(at.to_token_stream(), message)),
        None => Ok(()),
    }
}

/// `#[listens_for] impl Post { #[listens_for(before_insert)] fn stamp(&mut self) .. }`: the
/// model is the `impl`'s type; each marked method is registered after the block.
fn expand_impl(mut block: ItemImpl) -> TokenStream {
    let mut errors: Vec<syn::Error> = Vec::new();
    let mut listeners = Vec::new();
    if !block.generics.params.is_empty() {
        errors.push(syn::Error::new_spanned(
            &block.generics,
            "listener methods need a concrete model: `impl Post`, without generic parameters",
        ));
    }
    let self_ty = (*block.self_ty).clone();
    let type_name = self_ty.to_token_stream().to_string().replace(' ', "");
    let qualified = match &block.trait_ {
        Some((_, path, _)) => quote!(<#self_ty as #path>),
        None => quote!(<#self_ty>),
    };
    for item in &mut block.items {
        let ImplItem::Fn(method) = item else { continue };
        let (marks, rest): (Vec<Attribute>, Vec<Attribute>) =
            method.attrs.drain(..).partition(is_listens_for);
        method.attrs = rest;
        let mut seen: Vec<Event> = Vec::new();
        for mark in marks {
            let checked = (|| {
                let list = mark.meta.require_list().map_err(|_| {
                    syn::Error::new_spanned(
                        &mark,
                        "expected the event: `#[listens_for(before_insert)]`",
                    )
                })?;
                let event: Ident = syn::parse2(list.tokens.clone()).map_err(|e| {
                    syn::Error::new(e.span(), "inside a listener `impl` the attribute takes just the event: `#[listens_for(before_insert)]`; the model is the `impl`'s type")
                })?;
                let parsed = event_of(&event)?;
                if seen.contains(&parsed) {
                    return Err(syn::Error::new_spanned(
                        &mark,
                        format!("this method already listens to `{event}`; registered twice it would run twice"),
                    ));
                }
                seen.push(parsed);
                let target = Target::Model(Box::new(self_ty.clone()));
                match method.sig.inputs.first() {
                    Some(FnArg::Receiver(receiver)) if receiver.reference.is_some() => {
                        check_mutability(parsed, &target, receiver.mutability.is_some(), receiver)?
                    }
                    Some(FnArg::Typed(arg)) => {
                        if let Type::Reference(reference) = &*arg.ty {
                            check_mutability(
                                parsed,
                                &target,
                                reference.mutability.is_some(),
                                reference,
                            )?;
                        }
                    }
                    _ => return Err(syn::Error::new_spanned(
                        &method.sig,
                        "a listener method takes the model by reference: `&mut self` or `&self`",
                    )),
                }
                let ident = &method.sig.ident;
                Ok(Listener {
                    event: parsed,
                    target,
                    path: quote!(#qualified::#ident),
                    span: ident.span(),
                    name: format!("{type_name}::{ident}"),
                })
            })();
            match checked {
                Ok(listener) => listeners.push(listener),
                Err(error) => errors.push(error),
            }
        }
    }
    let errors = errors.into_iter().map(|e| e.to_compile_error());
    let registrations = listeners.iter().map(|l| crate::hygienic(register(l)));
    quote! {
        #(#errors)*
        #block
        #(#registrations)*
    }
}

/// The registration: a shim per backend that calls the listener through the same traits as
/// struct-side listeners (so a wrong signature is a type error at the function's name), and
/// one entry of `FUNCTION_LISTENERS`.
fn register(listener: &Listener) -> TokenStream {
    let p = quote!(::model_core::__private);
    let path = &listener.path;
    let name = &listener.name;
    let event = listener.event.path();
    let span = listener.span;
    let backends = quote! {
        __shim::<#p::sqlx::Sqlite>,
        __shim::<#p::sqlx::Postgres>,
        __shim::<#p::sqlx::MySql>,
    };
    let (shim, registered, entry) = match &listener.target {
        Target::Model(model) => {
            let (shim, shims) = if listener.event.is_after_transaction() {
                let call = quote_spanned! {span=>
                    #p::shim_commit::<#model, _, _>(#path, __model)
                };
                (
                    quote! {
                        fn __shim(__model: &dyn ::core::any::Any) -> #p::Callback { #call }
                    },
                    quote!(#p::Shims::Commit(__shim)),
                )
            } else {
                let (shim_fn, reference, variant) = if listener.event.is_mutable() {
                    (quote!(shim_mut), quote!(&'__a mut dyn ), quote!(Mut))
                } else {
                    (quote!(shim_ref), quote!(&'__a dyn ), quote!(Ref))
                };
                let call = quote_spanned! {span=>
                    #p::#shim_fn::<#model, __DB, _, _>(&#path, __model, __session)
                };
                (
                    quote! {
                        fn __shim<'__a, __DB: #p::Backend>(
                            __model: #reference ::core::any::Any,
                            __session: &'__a mut #p::Session<'_, __DB>,
                        ) -> #p::Pending<'__a> {
                            #call
                        }
                    },
                    quote!(#p::Shims::#variant(#backends)),
                )
            };
            // A row's `before_commit` listeners get a clone of it at the commit: the model
            // must be `Clone`, reported at the function.
            let share = match listener.event {
                Event::BeforeCommit => quote_spanned! {span=>
                    ::core::option::Option::Some(#p::share_row::<#model>)
                },
                _ => quote!(::core::option::Option::None),
            };
            (
                shim,
                quote! {
                    static __REGISTERED: #p::Registered = #p::Registered {
                        model: ::core::any::TypeId::of::<#model>,
                        event: #event,
                        name: ::core::concat!(::core::module_path!(), "::", #name),
                        shims: #shims,
                        share: #share,
                    };
                },
                quote!(#p::Registration::Model(&__REGISTERED)),
            )
        }
        Target::Every => {
            let (shim, shims) = if listener.event.is_after_transaction() {
                let call = quote_spanned! {span=>
                    #p::shim_every_commit::<_, _>(#path, __model)
                };
                (
                    quote! {
                        fn __shim(__model: &dyn ::model_core::AnyModel) -> #p::Callback { #call }
                    },
                    quote!(#p::EveryShims::Commit(__shim)),
                )
            } else {
                let call = quote_spanned! {span=>
                    #p::shim_every::<__DB, _, _>(&#path, __model, __session)
                };
                (
                    quote! {
                        fn __shim<'__a, __DB: #p::Backend>(
                            __model: &'__a dyn ::model_core::AnyModel,
                            __session: &'__a mut #p::Session<'_, __DB>,
                        ) -> #p::Pending<'__a> {
                            #call
                        }
                    },
                    quote!(#p::EveryShims::Ref(#backends)),
                )
            };
            (
                shim,
                quote! {
                    static __REGISTERED: #p::RegisteredEvery = #p::RegisteredEvery {
                        event: #event,
                        name: ::core::concat!(::core::module_path!(), "::", #name),
                        shims: #shims,
                    };
                },
                quote!(#p::Registration::EveryModel(&__REGISTERED)),
            )
        }
    };
    quote! {
        #[allow(non_upper_case_globals, unused_qualifications, clippy::all, clippy::pedantic)]
        const _: () = {
            #shim
            #registered
            #[#p::linkme::distributed_slice(#p::FUNCTION_LISTENERS)]
            #[linkme(crate = #p::linkme)]
            static __REGISTRATION: #p::Registration = #entry;
        };
    }
}
