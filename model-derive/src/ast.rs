//! Pass 1: the attributes as typed values, with their spans. Syntax only: whether a name is
//! a known event or a field is a possible key is for [`crate::valid`].

use proc_macro2::Span;
use syn::parse::ParseStream;
use syn::spanned::Spanned;
use syn::{Attribute, Data, DeriveInput, Fields, Ident, LitStr, Path, Token, Type, Visibility};

use crate::ctxt::Ctxt;

pub struct Input<'a> {
    pub ident: &'a Ident,
    pub vis: &'a Visibility,
    pub table: Option<LitStr>,
    /// `#[model(schema = "library")]`.
    pub schema: Option<LitStr>,
    /// The span of `track_changes` in `#[model(track_changes)]`.
    pub track_changes: Option<Span>,
    pub fields: Vec<FieldInput<'a>>,
    pub listeners: Vec<ListenerInput>,
}

pub struct FieldInput<'a> {
    pub ident: &'a Ident,
    pub vis: &'a Visibility,
    pub ty: &'a Type,
    /// The span of `primary_key` in `#[model(primary_key)]`.
    pub primary_key: Option<Span>,
    pub column: Option<LitStr>,
    /// The span of `skip` in `#[model(skip)]`.
    pub skip: Option<Span>,
    /// The span of `version` in `#[model(version)]`.
    pub version: Option<Span>,
    /// `#[model(length = 80)]`: the integer literal.
    pub length: Option<syn::LitInt>,
    /// `#[model(precision = 12)]`: the integer literal.
    pub precision: Option<syn::LitInt>,
    /// `#[model(scale = 2)]`: the integer literal.
    pub scale: Option<syn::LitInt>,
    /// The span of `unique` in `#[model(unique)]`.
    pub unique: Option<Span>,
    /// The span of `index` in `#[model(index)]`.
    pub index: Option<Span>,
    /// `#[model(default = "0")]`: an SQL expression for the DDL, which an insert of an
    /// `Option` field that is `None` leaves to the database.
    pub default: Option<LitStr>,
    /// `#[model(generated)]` (the span of `generated`) or `#[model(generated = "a * b")]`
    /// (and the expression): a column the database writes.
    pub generated: Option<(Span, Option<LitStr>)>,
    /// `#[model(references = Member)]`: the referenced model's type path.
    pub references: Option<Path>,
    /// `#[model(on_delete = "cascade")]`: the string, checked by [`crate::valid`].
    pub on_delete: Option<LitStr>,
}

pub struct ListenerInput {
    pub event: Ident,
    /// One or more, in the order written.
    pub paths: Vec<Path>,
}

const STRUCT_KEYS: &str = "`table = \"...\"`, `schema = \"...\"`, `track_changes`";
const FIELD_KEYS: &str = "`primary_key`, `column = \"...\"`, `skip`, `version`, `length = 80`, `precision = 12`, `scale = 2`, `unique`, `index`, `default = \"...\"`, `generated`, `generated = \"...\"`, `references = Model`, `on_delete = \"cascade\"`";

impl<'a> Input<'a> {
    /// Parses what it can; every problem goes to `cx`.
    pub fn from_syn(cx: &Ctxt, input: &'a DeriveInput) -> Self {
        let fields = match &input.data {
            Data::Struct(data) => match &data.fields {
                Fields::Named(named) if named.named.is_empty() => {
                    cx.error_at(
                        input.ident.span(),
                        "#[derive(Model)] needs at least one field: the primary key",
                    );
                    Vec::new()
                }
                Fields::Named(named) => named.named.iter().collect(),
                Fields::Unnamed(_) => {
                    cx.error_spanned(
                        &data.fields,
                        "#[derive(Model)] needs named fields: each field is a column named after it",
                    );
                    Vec::new()
                }
                Fields::Unit => {
                    cx.error_at(
                        input.ident.span(),
                        "#[derive(Model)] needs a struct with named fields, one per column; a unit struct has none",
                    );
                    Vec::new()
                }
            },
            Data::Enum(data) => {
                cx.error_at(
                    data.enum_token.span,
                    "#[derive(Model)] works on structs with named fields, not enums: a model is one row of one table",
                );
                Vec::new()
            }
            Data::Union(data) => {
                cx.error_at(
                    data.union_token.span,
                    "#[derive(Model)] works on structs with named fields, not unions",
                );
                Vec::new()
            }
        };
        if !input.generics.params.is_empty() {
            cx.error_spanned(
                &input.generics,
                "#[derive(Model)] does not support generic parameters or lifetimes: a model owns its values; make the struct concrete",
            );
        }

        let mut table = None;
        let mut schema = None;
        let mut track_changes = None;
        let mut listeners = Vec::new();
        for attr in &input.attrs {
            if attr.path().is_ident("model") {
                parse_struct_attr(cx, attr, &mut table, &mut schema, &mut track_changes);
            } else if attr.path().is_ident("listens_for") {
                match parse_listens_for(attr) {
                    Ok(parsed) => listeners.push(parsed),
                    Err(error) => cx.push(error),
                }
            }
        }

        let fields = fields
            .into_iter()
            .map(|field| {
                let mut parsed = FieldInput {
                    // Named fields always have an ident.
                    ident: field.ident.as_ref().expect("named field"),
                    vis: &field.vis,
                    ty: &field.ty,
                    primary_key: None,
                    column: None,
                    skip: None,
                    version: None,
                    length: None,
                    precision: None,
                    scale: None,
                    unique: None,
                    index: None,
                    default: None,
                    generated: None,
                    references: None,
                    on_delete: None,
                };
                for attr in &field.attrs {
                    if attr.path().is_ident("model") {
                        parse_field_attr(cx, attr, &mut parsed);
                    } else if attr.path().is_ident("listens_for") {
                        cx.error_spanned(
                            attr,
                            "#[listens_for(...)] goes on the struct, not on a field",
                        );
                    }
                }
                parsed
            })
            .collect();

        Input {
            ident: &input.ident,
            vis: &input.vis,
            table,
            schema,
            track_changes,
            fields,
            listeners,
        }
    }
}

fn parse_struct_attr(
    cx: &Ctxt,
    attr: &Attribute,
    table: &mut Option<LitStr>,
    schema: &mut Option<LitStr>,
    track_changes: &mut Option<Span>,
) {
    let result = attr.parse_nested_meta(|meta| {
        if meta.path.is_ident("table") {
            let value = string_value(&meta, "table = \"posts\"")?;
            if table.is_some() {
                cx.error_spanned(&meta.path, "duplicate `table`: give the table name once");
            }
            *table = Some(value);
        } else if meta.path.is_ident("schema") {
            let value = string_value(&meta, "schema = \"library\"")?;
            if schema.is_some() {
                cx.error_spanned(&meta.path, "duplicate `schema`: give the schema name once");
            }
            *schema = Some(value);
        } else if meta.path.is_ident("track_changes") {
            no_value(&meta, "track_changes")?;
            if track_changes.is_some() {
                cx.error_spanned(&meta.path, "duplicate `track_changes`");
            }
            *track_changes = Some(meta.path.span());
        } else if is_any(
            &meta.path,
            &[
                "primary_key",
                "column",
                "skip",
                "version",
                "length",
                "precision",
                "scale",
                "unique",
                "index",
                "default",
                "generated",
                "references",
                "on_delete",
            ],
        ) {
            return Err(meta.error(format!(
                "`{}` goes on a field, not on the struct; on the struct `#[model(...)]` takes {STRUCT_KEYS}",
                path_text(&meta.path)
            )));
        } else {
            return Err(meta.error(format!(
                "unknown model attribute `{}`; on the struct `#[model(...)]` takes {STRUCT_KEYS}",
                path_text(&meta.path)
            )));
        }
        Ok(())
    });
    if let Err(error) = result {
        cx.push(error);
    }
}

fn parse_field_attr(cx: &Ctxt, attr: &Attribute, field: &mut FieldInput<'_>) {
    let ident = field.ident;
    let result = attr.parse_nested_meta(|meta| {
        let key = path_text(&meta.path);
        let duplicate =
            || cx.error_spanned(&meta.path, format!("duplicate `{key}` on field `{ident}`"));
        // A flag (`#[model(unique)]`) keeps the span of its word.
        let flag = |slot: &mut Option<Span>| {
            no_value(&meta, &key).map(|()| set_once(slot, meta.path.span(), &duplicate))
        };
        match key.as_str() {
            "primary_key" => flag(&mut field.primary_key)?,
            "skip" => flag(&mut field.skip)?,
            "version" => flag(&mut field.version)?,
            "unique" => flag(&mut field.unique)?,
            "index" => flag(&mut field.index)?,
            "column" => {
                let value = string_value(&meta, "column = \"created\"")?;
                set_once(&mut field.column, value, &duplicate);
            }
            "length" => {
                let value = int_value(&meta, "length = 80")?;
                set_once(&mut field.length, value, &duplicate);
            }
            "precision" => {
                let value = int_value(&meta, "precision = 12")?;
                set_once(&mut field.precision, value, &duplicate);
            }
            "scale" => {
                let value = int_value(&meta, "scale = 2")?;
                set_once(&mut field.scale, value, &duplicate);
            }
            "default" => {
                let value = string_value(&meta, "default = \"0\"")?;
                set_once(&mut field.default, value, &duplicate);
            }
            // A flag, or the expression of a `GENERATED ALWAYS AS` column.
            "generated" => {
                let expression = match meta.input.peek(Token![=]) {
                    true => Some(string_value(&meta, "generated = \"price * quantity\"")?),
                    false if meta.input.peek(syn::token::Paren) => {
                        return Err(meta.error(
                            "`generated` takes its expression as a string, `#[model(generated = \"price * quantity\")]`, or no value for a column a trigger keeps: `#[model(generated)]`",
                        ));
                    }
                    false => None,
                };
                set_once(
                    &mut field.generated,
                    (meta.path.span(), expression),
                    &duplicate,
                );
            }
            "references" => {
                let value = path_value(&meta, "references = Member")?;
                set_once(&mut field.references, value, &duplicate);
            }
            "on_delete" => {
                let value = string_value(&meta, "on_delete = \"cascade\"")?;
                set_once(&mut field.on_delete, value, &duplicate);
            }
            "table" | "schema" | "track_changes" => {
                return Err(meta.error(format!(
                    "`{key}` goes on the struct, not on a field; on a field `#[model(...)]` takes {FIELD_KEYS}"
                )));
            }
            _ => {
                return Err(meta.error(format!(
                    "unknown model attribute `{key}`; on a field `#[model(...)]` takes {FIELD_KEYS}"
                )));
            }
        }
        Ok(())
    });
    if let Err(error) = result {
        cx.push(error);
    }
}

/// Fills an attribute's slot; a second one is reported (`duplicate`) and the last one kept,
/// so that the rest of the model is still checked.
fn set_once<T>(slot: &mut Option<T>, value: T, duplicate: &dyn Fn()) {
    if slot.is_some() {
        duplicate();
    }
    *slot = Some(value);
}

/// The expression inside the invisible group a `macro_rules!` puts around a `$x:literal`
/// or `$x:expr` it passes on: `table = $table` is the string it was given.
fn ungroup(expr: syn::Expr) -> syn::Expr {
    match expr {
        syn::Expr::Group(group) => ungroup(*group.expr),
        other => other,
    }
}

/// `key = "string"`, with an error that shows the expected form.
fn string_value(meta: &syn::meta::ParseNestedMeta<'_>, example: &str) -> syn::Result<LitStr> {
    let key = path_text(&meta.path);
    if !meta.input.peek(Token![=]) {
        return Err(meta.error(format!("`{key}` needs a value: `{example}`")));
    }
    let expr = ungroup(meta.value()?.parse()?);
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

/// `key = path::To::Type`, with an error that shows the expected form.
fn path_value(meta: &syn::meta::ParseNestedMeta<'_>, example: &str) -> syn::Result<Path> {
    let key = path_text(&meta.path);
    if !meta.input.peek(Token![=]) {
        return Err(meta.error(format!("`{key}` needs a value: `{example}`")));
    }
    let expr = ungroup(meta.value()?.parse()?);
    match expr {
        syn::Expr::Path(syn::ExprPath {
            qself: None, path, ..
        }) => Ok(path),
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(lit),
            ..
        }) => Err(syn::Error::new_spanned(
            &lit,
            format!(
                "`{key}` takes the model's type, not a string: `{key} = {}`",
                lit.value()
            ),
        )),
        other => Err(syn::Error::new_spanned(
            other,
            format!("`{key}` takes the path of a model type: `{example}`"),
        )),
    }
}

/// `key = 80`, with an error that shows the expected form.
fn int_value(meta: &syn::meta::ParseNestedMeta<'_>, example: &str) -> syn::Result<syn::LitInt> {
    let key = path_text(&meta.path);
    if !meta.input.peek(Token![=]) {
        return Err(meta.error(format!("`{key}` needs a value: `{example}`")));
    }
    let expr = ungroup(meta.value()?.parse()?);
    match expr {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(value),
            ..
        }) => Ok(value),
        other => Err(syn::Error::new_spanned(
            other,
            format!("`{key}` takes an integer literal: `{example}`"),
        )),
    }
}

/// A flag like `primary_key` must not have `= value` or `(...)`.
fn no_value(meta: &syn::meta::ParseNestedMeta<'_>, key: &str) -> syn::Result<()> {
    if meta.input.peek(Token![=]) || meta.input.peek(syn::token::Paren) {
        return Err(meta.error(format!("`{key}` takes no value: write `#[model({key})]`")));
    }
    Ok(())
}

/// `#[listens_for(event, path::to::listener, ...)]`: one event, then one or more listeners,
/// which run in the order written.
fn parse_listens_for(attr: &Attribute) -> syn::Result<ListenerInput> {
    const FORM: &str = "`#[listens_for(before_insert, path::to::listener)]`";
    let list = match &attr.meta {
        syn::Meta::List(list) => list,
        other => {
            return Err(syn::Error::new_spanned(
                other,
                format!("expected an event and a listener function: {FORM}"),
            ))
        }
    };
    list.parse_args_with(|input: ParseStream<'_>| {
        if input.is_empty() {
            return Err(syn::Error::new_spanned(
                list,
                format!("expected an event and a listener function: {FORM}"),
            ));
        }
        if input.peek(LitStr) {
            let quoted: LitStr = input.parse()?;
            return Err(syn::Error::new(
                quoted.span(),
                format!(
                    "write the event without quotes: `#[listens_for({}, ...)]`",
                    quoted.value()
                ),
            ));
        }
        let event: Ident = input.parse().map_err(|e| {
            syn::Error::new(e.span(), format!("expected an event name: {FORM}"))
        })?;
        let missing = || {
            syn::Error::new(
                event.span(),
                format!("missing the listener function after `{event}`: {FORM}"),
            )
        };
        if input.is_empty() {
            return Err(missing());
        }
        input.parse::<Token![,]>()?;
        if input.is_empty() {
            return Err(missing());
        }
        let mut paths = Vec::new();
        while !input.is_empty() {
            let path: Path = input.parse().map_err(|e| {
                syn::Error::new(
                    e.span(),
                    format!("expected the path of a listener function: {FORM}"),
                )
            })?;
            paths.push(path);
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>().map_err(|e| {
                syn::Error::new(
                    e.span(),
                    "expected `,` between listeners: `#[listens_for(before_insert, first, second)]`",
                )
            })?;
        }
        Ok(ListenerInput { event, paths })
    })
}

fn is_any(path: &Path, names: &[&str]) -> bool {
    names.iter().any(|name| path.is_ident(name))
}

pub fn path_text(path: &Path) -> String {
    quote::quote!(#path).to_string().replace(' ', "")
}
