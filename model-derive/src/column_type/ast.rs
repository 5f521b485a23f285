//! The type and its `#[column(...)]` attributes, read and checked into what is stored.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Attribute, Data, DeriveInput, Fields, Ident, LitStr, Member, Type};

use super::rename::{RenameRule, RULES};
use crate::ctxt::Ctxt;

/// A type ready to expand.
pub struct Input<'a> {
    pub ident: &'a Ident,
    pub shape: Shape<'a>,
}

pub enum Shape<'a> {
    /// Each variant stored as its text.
    Text(Vec<(&'a Ident, String)>),
    /// Each variant stored as its discriminant, as `repr`.
    Integer {
        repr: Ident,
        variants: Vec<&'a Ident>,
    },
    /// Stored as its one field.
    Newtype { member: Member, ty: &'a Type },
}

const ENUM_KEYS: &str = "`rename_all = \"...\"`, `repr = \"i16\" | \"i32\" | \"i64\"`";
const REPRS: [&str; 3] = ["i16", "i32", "i64"];

impl<'a> Input<'a> {
    /// The checked input, or `None` after reporting every problem to `cx`.
    pub fn from_syn(cx: &Ctxt, input: &'a DeriveInput) -> Option<Self> {
        if !input.generics.params.is_empty() {
            cx.error_spanned(
                &input.generics,
                "#[derive(ColumnType)] does not support generic parameters or lifetimes: a column holds one concrete type; derive it on a concrete newtype",
            );
        }
        let shape = match &input.data {
            Data::Enum(data) => enum_shape(cx, input, data),
            Data::Struct(data) => newtype_shape(cx, input, &data.fields),
            Data::Union(data) => {
                cx.error_at(
                    data.union_token.span,
                    "#[derive(ColumnType)] works on fieldless enums and newtypes, not unions",
                );
                None
            }
        };
        Some(Input {
            ident: &input.ident,
            shape: shape?,
        })
    }
}

/// `#[column(...)]` on the enum.
#[derive(Default)]
struct EnumAttrs {
    rename_all: Option<(RenameRule, Span)>,
    repr: Option<(Ident, Span)>,
}

fn enum_shape<'a>(cx: &Ctxt, input: &'a DeriveInput, data: &'a syn::DataEnum) -> Option<Shape<'a>> {
    let attrs = enum_attrs(cx, &input.attrs);
    if data.variants.is_empty() {
        cx.error_at(
            input.ident.span(),
            "#[derive(ColumnType)] needs at least one variant: an enum without variants has no value to store",
        );
        return None;
    }
    let mut ok = true;
    let mut variants = Vec::new();
    for variant in &data.variants {
        if !matches!(variant.fields, Fields::Unit) {
            cx.error_spanned(
                &variant.fields,
                format!(
                    "#[derive(ColumnType)] stores fieldless enums, and variant `{}` has fields; store data like this as JSON (`sqlx::types::Json<T>`, feature `json`) or in columns of its own",
                    variant.ident
                ),
            );
            ok = false;
        }
        let rename = variant_rename(cx, &variant.attrs);
        if let (Some((_, span)), Some(_)) = (&rename, &attrs.repr) {
            cx.error_at(
                *span,
                "`rename` sets a variant's text, and this enum is stored as an integer (`repr`): remove one of them",
            );
            ok = false;
        }
        let text = match (rename, attrs.rename_all) {
            (Some((text, _)), _) => text,
            (None, Some((rule, _))) => rule.apply(&variant.ident.to_string()),
            (None, None) => variant.ident.to_string(),
        };
        variants.push((&variant.ident, text));
    }
    if let (Some((_, rename_span)), Some(_)) = (attrs.rename_all, &attrs.repr) {
        cx.error_at(
            rename_span,
            "`rename_all` names the variants' text, and this enum is stored as an integer (`repr`): remove one of them",
        );
        ok = false;
    }
    if let Some((repr, _)) = attrs.repr {
        return ok.then(|| Shape::Integer {
            repr,
            variants: variants.into_iter().map(|(ident, _)| ident).collect(),
        });
    }
    for (i, (ident, text)) in variants.iter().enumerate() {
        if let Some((first, _)) = variants[..i].iter().find(|(_, earlier)| earlier == text) {
            cx.error_at(
                ident.span(),
                format!("`{ident}` would be stored as {text:?}, as `{first}` is: give each variant its own text with `#[column(rename = \"...\")]`"),
            );
            ok = false;
        }
        if text.contains('\0') {
            cx.error_at(
                ident.span(),
                format!("`{ident}` would be stored as text with the NUL character, which PostgreSQL text cannot hold"),
            );
            ok = false;
        }
    }
    ok.then_some(Shape::Text(variants))
}

fn enum_attrs(cx: &Ctxt, attrs: &[Attribute]) -> EnumAttrs {
    let mut out = EnumAttrs::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("column")) {
        let result = attr.parse_nested_meta(|meta| {
            let span = meta.path.span();
            if meta.path.is_ident("rename_all") {
                let value = string_value(&meta, "rename_all = \"snake_case\"")?;
                let Some(rule) = RenameRule::from_name(&value.value()) else {
                    // Reported, and the attribute's other keys still read.
                    cx.error_at(
                        value.span(),
                        format!(
                            "unknown `rename_all` rule {:?}; the rules are {RULES}",
                            value.value()
                        ),
                    );
                    return Ok(());
                };
                if out.rename_all.replace((rule, span)).is_some() {
                    cx.error_at(span, "duplicate `rename_all`: give it once");
                }
            } else if meta.path.is_ident("repr") {
                let value = string_value(&meta, "repr = \"i32\"")?;
                if !REPRS.contains(&value.value().as_str()) {
                    cx.error_at(
                        value.span(),
                        format!(
                            "unknown `repr` {:?}; an enum is stored as \"i16\", \"i32\" or \"i64\"",
                            value.value()
                        ),
                    );
                    return Ok(());
                }
                let repr = Ident::new(&value.value(), value.span());
                if out.repr.replace((repr, span)).is_some() {
                    cx.error_at(span, "duplicate `repr`: give it once");
                }
            } else if meta.path.is_ident("rename") {
                return Err(meta.error(format!(
                    "`rename` goes on a variant; on the enum `#[column(...)]` takes {ENUM_KEYS}"
                )));
            } else {
                return Err(meta.error(format!(
                    "unknown column attribute `{}`; on an enum `#[column(...)]` takes {ENUM_KEYS}",
                    path_text(&meta.path)
                )));
            }
            Ok(())
        });
        if let Err(error) = result {
            cx.push(error);
        }
    }
    out
}

/// `#[column(rename = "...")]` on a variant: the text and the span of `rename`.
fn variant_rename(cx: &Ctxt, attrs: &[Attribute]) -> Option<(String, Span)> {
    let mut rename = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("column")) {
        let result = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                let span = meta.path.span();
                let value = string_value(&meta, "rename = \"in_review\"")?;
                if rename.replace((value.value(), span)).is_some() {
                    cx.error_at(span, "duplicate `rename`: give a variant one text");
                }
                Ok(())
            } else {
                Err(meta.error(format!(
                    "unknown column attribute `{}`; on a variant `#[column(...)]` takes `rename = \"...\"`",
                    path_text(&meta.path)
                )))
            }
        });
        if let Err(error) = result {
            cx.push(error);
        }
    }
    rename
}

fn newtype_shape<'a>(cx: &Ctxt, input: &'a DeriveInput, fields: &'a Fields) -> Option<Shape<'a>> {
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("column")) {
        cx.error_spanned(
            attr,
            "a newtype is stored as its field and takes no `#[column(...)]` attributes; `rename_all` and `repr` are for enums",
        );
    }
    let field = match fields.iter().collect::<Vec<_>>()[..] {
        [field] => field,
        _ => {
            let message = "#[derive(ColumnType)] works on fieldless enums and on newtypes, structs of exactly one field (`struct UserId(i64);`); a struct of several columns is a `Model`";
            match fields {
                Fields::Unit => cx.error_at(input.ident.span(), message),
                _ => cx.error_spanned(fields, message),
            }
            return None;
        }
    };
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("column")) {
        cx.error_spanned(
            attr,
            "a newtype's field takes no `#[column(...)]` attributes",
        );
    }
    let member = match &field.ident {
        Some(ident) => Member::Named(ident.clone()),
        None => Member::Unnamed(0.into()),
    };
    Some(Shape::Newtype {
        member,
        ty: &field.ty,
    })
}

/// `key = "string"`, with an error that shows the expected form.
fn string_value(meta: &syn::meta::ParseNestedMeta<'_>, example: &str) -> syn::Result<LitStr> {
    let key = path_text(&meta.path);
    if !meta.input.peek(syn::Token![=]) {
        return Err(meta.error(format!("`{key}` needs a value: `{example}`")));
    }
    let expr: syn::Expr = meta.value()?.parse()?;
    match expr {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(value),
            ..
        }) => Ok(value),
        other => Err(syn::Error::new_spanned(
            other,
            format!("`{key}` takes a string literal: `{example}`"),
        )),
    }
}

fn path_text(path: &syn::Path) -> String {
    quote::quote!(#path).to_string().replace(' ', "")
}
