//! Pass 2: checks the parsed attributes and resolves every default, so that expansion has
//! nothing left to decide.

use std::collections::HashMap;

use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{GenericArgument, Ident, LitStr, Path, PathArguments, Type, Visibility};

use crate::ast::{path_text, Input};
use crate::ctxt::Ctxt;
use crate::event::{unknown_event_message, Event};

/// A model ready to expand.
pub struct Model<'a> {
    pub ident: &'a Ident,
    pub vis: &'a Visibility,
    pub table: String,
    /// `#[model(schema = "...")]`: the schema (database) the table is in.
    pub schema: Option<String>,
    /// Every field, columns and skipped ones, in declaration order.
    pub fields: Vec<Field<'a>>,
    /// Indices into `fields` of the primary key's fields, in declaration order: one, or
    /// several for a composite key.
    pub primary_key: Vec<usize>,
    /// `#[model(track_changes)]`, with its span.
    pub track_changes: Option<proc_macro2::Span>,
    /// Index into `fields` of the `#[model(version)]` column.
    pub version: Option<usize>,
    pub listeners: Vec<Listener>,
    /// `#[listens_for(before_query, f)]`: listeners of the model's queries, not of a row.
    pub query_listeners: Vec<syn::Path>,
}

pub struct Field<'a> {
    pub ident: &'a Ident,
    pub vis: &'a Visibility,
    pub ty: &'a Type,
    /// `None` for a `#[model(skip)]` field.
    pub column: Option<String>,
    /// `length`, `precision`, `unique`, `index`, `default`...: what the schema declares beyond
    /// the type.
    pub schema: ColumnSchema,
    /// Whether the database writes this column, and a write reads it back.
    pub read_back: Option<ReadBack>,
}

/// A column whose value the database chooses, which a write reads back into the field.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum ReadBack {
    /// `#[model(generated)]`: never written; read back after every insert and update. Bare
    /// (`by_trigger`), it may be kept by a trigger; with an expression it is a `GENERATED
    /// ALWAYS AS` column.
    Generated { by_trigger: bool },
    /// `#[model(default = "...")]` on an `Option` field: left to the default by an insert
    /// when `None`, and read back after it.
    Defaulted,
}

/// A column's `#[model(length = n, precision = p, scale = s, unique, index, default =
/// "...")]`, checked.
#[derive(Default)]
pub struct ColumnSchema {
    /// The limit, and the span of its literal (where a field that is not text is reported).
    pub length: Option<(u32, proc_macro2::Span)>,
    /// `#[model(precision = p, scale = s)]`.
    pub decimal: Option<DecimalDigits>,
    pub unique: bool,
    pub index: bool,
    pub default: Option<String>,
    /// `#[model(generated = "...")]`: the expression of a `GENERATED ALWAYS AS` column.
    pub generated: Option<String>,
    /// `#[model(references = Member, on_delete = "...")]`.
    pub references: Option<References>,
}

/// A decimal column's `#[model(precision = p, scale = s)]`: `p` digits in all, `s` of them
/// after the point.
#[derive(Clone, Copy)]
pub struct DecimalDigits {
    pub precision: u8,
    /// 0 when not given: SQL's `DECIMAL(p)` is `DECIMAL(p, 0)`.
    pub scale: u8,
    /// The span of `precision`'s literal, where a field that is not a decimal is reported.
    pub span: proc_macro2::Span,
}

/// A foreign key: the referenced model's path (where an error about it points) and the
/// `on_delete` action, if any.
pub struct References {
    pub model: Path,
    pub on_delete: Option<OnDelete>,
    /// `"cascade"` or `"set_null"`: a delete of the referenced row deletes (or lets go of)
    /// this model's rows through their listeners, which the derive registers
    /// (`expand::cascades`). `false` for `"cascade_in_database"` and
    /// `"set_null_in_database"`, the database's action alone.
    pub listeners: bool,
}

/// `on_delete = "cascade" | "restrict" | "set_null"`.
#[derive(Clone, Copy)]
pub enum OnDelete {
    Cascade,
    Restrict,
    SetNull,
}

pub struct Listener {
    pub event: Event,
    pub path: Path,
    /// Its position among the listeners of the same event.
    pub order: usize,
}

impl Model<'_> {
    /// The fields that are columns.
    pub fn columns(&self) -> impl Iterator<Item = (usize, &Field<'_>, &str)> {
        self.fields
            .iter()
            .enumerate()
            .filter_map(|(i, f)| f.column.as_deref().map(|c| (i, f, c)))
    }

    /// `T` for an `Option<T>` primary key, which the database generates when `None`. A
    /// composite key is never generated (its parts cannot be `Option`s).
    pub fn generated_key(&self) -> Option<&Type> {
        match self.primary_key.as_slice() {
            &[key] => option_inner(self.fields[key].ty),
            _ => None,
        }
    }

    /// Whether field `index` is (a part of) the primary key.
    pub fn is_key(&self, index: usize) -> bool {
        self.primary_key.contains(&index)
    }

    /// The columns a write reads back, as positions in `COLUMNS`: the generated ones, then
    /// the defaulted ones (`model_core`'s `ReadBack::columns`).
    pub fn read_back(&self, kind: fn(ReadBack) -> bool) -> Vec<(usize, &Field<'_>)> {
        self.columns()
            .enumerate()
            .filter(|(_, (_, field, _))| field.read_back.is_some_and(kind))
            .map(|(position, (_, field, _))| (position, field))
            .collect()
    }
}

impl ReadBack {
    /// Whether the column is `#[model(generated)]`.
    pub fn is_generated(self) -> bool {
        matches!(self, ReadBack::Generated { .. })
    }

    /// Whether the column is a defaulted `Option`.
    pub fn is_defaulted(self) -> bool {
        self == ReadBack::Defaulted
    }
}

/// Returns the model if it is valid; every problem goes to `cx`.
pub fn check<'a>(cx: &Ctxt, input: Input<'a>) -> Option<Model<'a>> {
    let mut ok = true;
    let mut fail = |span: proc_macro2::Span, message: String| {
        cx.error_at(span, message);
        ok = false;
    };

    let table = match &input.table {
        Some(lit) if lit.value().is_empty() => {
            fail(lit.span(), "the table name is empty".to_owned());
            String::new()
        }
        // `"library.books"` would be quoted as one name, a table with a dot in it, which is
        // rarely what is meant: the schema goes in a key of its own.
        Some(lit) if lit.value().contains('.') => {
            let value = lit.value();
            let (schema, table) = value.split_once('.').expect("contains a dot");
            fail(
                lit.span(),
                format!(
                    "`table` is one name, quoted as a whole: \"{value}\" would name a table with a dot in it; for table `{table}` in schema `{schema}`, write `#[model(schema = \"{schema}\", table = \"{table}\")]`"
                ),
            );
            value
        }
        Some(lit) => lit.value(),
        None => snake_case(&input.ident.unraw().to_string()),
    };
    let schema = match &input.schema {
        Some(lit) if lit.value().is_empty() => {
            fail(
                lit.span(),
                "the schema name is empty; leave `schema` out for the connection's default"
                    .to_owned(),
            );
            None
        }
        Some(lit) => Some(lit.value()),
        None => None,
    };

    // Columns: named after the field unless renamed, each name used once.
    let mut fields = Vec::with_capacity(input.fields.len());
    let mut seen: HashMap<String, &Ident> = HashMap::new();
    for field in &input.fields {
        if let (Some(skip), Some(_)) = (field.skip, field.primary_key) {
            fail(
                skip,
                format!("the primary key `{}` cannot be skipped", field.ident),
            );
        }
        let column = if field.skip.is_some() {
            if let Some(column) = &field.column {
                fail(
                    column.span(),
                    format!(
                        "`{}` is skipped, so it has no column to rename",
                        field.ident
                    ),
                );
            }
            None
        } else {
            let (name, span) = match &field.column {
                Some(lit) => (lit.value(), lit.span()),
                None => (field.ident.unraw().to_string(), field.ident.span()),
            };
            if name.is_empty() {
                fail(span, "the column name is empty".to_owned());
            } else if let Some(first) = seen.get(&name) {
                fail(
                    span,
                    format!(
                        "duplicate column `{name}`: field `{first}` already uses it; rename one with `#[model(column = \"...\")]`"
                    ),
                );
            } else {
                seen.insert(name.clone(), field.ident);
            }
            Some(name)
        };
        let schema = column_schema(field, &mut fail);
        fields.push(Field {
            ident: field.ident,
            vis: field.vis,
            ty: field.ty,
            column,
            schema,
            read_back: None,
        });
    }

    // The primary key: the one marked field, or the field named `id`.
    let marked: Vec<usize> = (0..input.fields.len())
        .filter(|&i| input.fields[i].primary_key.is_some())
        .collect();
    let primary_key: Vec<usize> = match marked.as_slice() {
        [] => {
            let id = input
                .fields
                .iter()
                .position(|f| f.ident.unraw() == "id" && f.skip.is_none());
            if id.is_none() && !input.fields.is_empty() {
                fail(
                    input.ident.span(),
                    format!(
                        "`{}` has no primary key: mark one field `#[model(primary_key)]`, or name it `id`",
                        input.ident
                    ),
                );
            }
            id.into_iter().collect()
        }
        [_] => marked,
        // A composite key: every part is set by the caller, so none may be an `Option`
        // (a generated part could not be matched to its row without `RETURNING` of
        // every part), and there are at most four (`Model::Key` is a tuple).
        parts => {
            for &part in parts {
                let field = &input.fields[part];
                if let Some(option) = option_ident(field.ty) {
                    fail(
                        option.span(),
                        format!(
                            "`{}` is part of a composite primary key, which the database cannot generate: every part is set before the insert, so it cannot be an `Option`; drop the `Option`, or give the table a generated key of its own and make these fields `#[model(unique)]`",
                            field.ident
                        ),
                    );
                }
            }
            if let [_, _, _, _, fifth, ..] = parts {
                fail(
                    input.fields[*fifth].primary_key.expect("marked"),
                    "a composite primary key has at most four fields".to_owned(),
                );
            }
            marked
        }
    };

    // A key the database generates cannot also be a copy of another table's key.
    if let [key] = primary_key.as_slice() {
        let field = &input.fields[*key];
        if let (Some(path), Some(_)) = (&field.references, option_inner(field.ty)) {
            fail(
                path.span(),
                format!(
                    "the primary key `{}` is generated by the database, so it cannot reference `{}`: drop the `Option` and set the key from the referenced row",
                    field.ident,
                    path_text(path)
                ),
            );
        }
    }

    let version = check_version(&input, &primary_key, &mut fail);
    let read_back = check_read_back(&input, &primary_key, &mut fail);
    for (field, read_back) in fields.iter_mut().zip(read_back) {
        field.read_back = read_back;
    }
    for key in primary_key.iter().map(|&i| &input.fields[i]) {
        for span in [key.unique, key.index].into_iter().flatten() {
            fail(
                span,
                format!(
                    "the primary key `{}` is already unique and indexed",
                    key.ident
                ),
            );
        }
    }

    let mut listeners: Vec<Listener> = Vec::with_capacity(input.listeners.len());
    let mut query_listeners: Vec<syn::Path> = Vec::new();
    for attr in input.listeners {
        let name = attr.event.unraw().to_string();
        if name == crate::query_listener::EVENT {
            query_listeners.extend(attr.paths);
            continue;
        }
        let Some(event) = Event::from_name(&name) else {
            fail(attr.event.span(), unknown_event_message(&name));
            continue;
        };
        for path in attr.paths {
            let text = path_text(&path);
            if listeners
                .iter()
                .any(|l| l.event == event && path_text(&l.path) == text)
            {
                fail(
                    path.span(),
                    format!("`{text}` is already a `{name}` listener of this model; listed twice it would run twice"),
                );
                continue;
            }
            let order = listeners.iter().filter(|l| l.event == event).count();
            listeners.push(Listener { event, path, order });
        }
    }

    if !ok || input.fields.is_empty() || primary_key.is_empty() {
        return None;
    }
    Some(Model {
        ident: input.ident,
        vis: input.vis,
        table,
        schema,
        fields,
        primary_key,
        track_changes: input.track_changes,
        version,
        listeners,
        query_listeners,
    })
}

/// The one `#[model(version)]` field, if any: a column, not the key.
fn check_version(
    input: &Input<'_>,
    primary_key: &[usize],
    fail: &mut impl FnMut(proc_macro2::Span, String),
) -> Option<usize> {
    let mut version = None;
    for (i, field) in input.fields.iter().enumerate() {
        let Some(span) = field.version else { continue };
        if field.skip.is_some() {
            fail(
                span,
                format!(
                    "`{}` is skipped, so it has no column to be the version",
                    field.ident
                ),
            );
        } else if primary_key.contains(&i) {
            fail(
                span,
                format!(
                    "the primary key `{}` cannot be the version: the version is a column of its own that every update adds one to",
                    field.ident
                ),
            );
        } else if let Some(first) = version {
            let first: &crate::ast::FieldInput<'_> = &input.fields[first];
            fail(
                span,
                format!(
                    "`{}` is already the version column; a model has at most one",
                    first.ident
                ),
            );
        } else {
            version = Some(i);
        }
    }
    version
}

/// The most defaulted `Option` columns a model may have: an insert says which it leaves to
/// the database in the bits of a `u64`.
const MAX_DEFAULTED: usize = 64;

/// Each field's [`ReadBack`]: `generated` (not on the key, the version or a skipped field,
/// whose error `column_schema` reports), or `default` on an `Option` field but the key.
/// `default` on any other field is written by every insert, as the field always has a
/// value.
fn check_read_back(
    input: &Input<'_>,
    primary_key: &[usize],
    fail: &mut impl FnMut(proc_macro2::Span, String),
) -> Vec<Option<ReadBack>> {
    let mut defaulted = 0;
    let mut read_back = Vec::with_capacity(input.fields.len());
    for (i, field) in input.fields.iter().enumerate() {
        let ident = field.ident;
        let kind = match (&field.generated, &field.default) {
            _ if field.skip.is_some() => None,
            (Some((span, expression)), default) => {
                if primary_key.contains(&i) {
                    fail(
                        *span,
                        format!(
                            "the primary key `{ident}` cannot be `generated`: a key the database generates is an `Option` field (`{ident}: Option<i64>`), which an insert fills in"
                        ),
                    );
                }
                if field.version.is_some() {
                    fail(
                        *span,
                        format!(
                            "`{ident}` is the version column, which every update writes, so it cannot be `generated`; drop one of the two"
                        ),
                    );
                }
                if let Some(lit) = expression.as_ref().filter(|lit| lit.value().is_empty()) {
                    fail(
                        lit.span(),
                        "the expression is empty: write the SQL that computes the column, `generated = \"price * quantity\"`, or `#[model(generated)]` for a column a trigger keeps".to_owned(),
                    );
                }
                if let (Some(expression), Some(default)) = (expression, default) {
                    fail(
                        default.span(),
                        format!(
                            "`{ident}` is generated as `{}`, so it has no default: drop `default`",
                            expression.value()
                        ),
                    );
                }
                Some(ReadBack::Generated {
                    by_trigger: expression.is_none(),
                })
            }
            // An `Option` key is the database's to generate already.
            (None, Some(default))
                if option_inner(field.ty).is_some() && !primary_key.contains(&i) =>
            {
                defaulted += 1;
                if defaulted > MAX_DEFAULTED {
                    fail(
                        default.span(),
                        format!(
                            "a model has at most {MAX_DEFAULTED} `Option` fields with a `default`; declare the rest's default in SQL of your own"
                        ),
                    );
                }
                Some(ReadBack::Defaulted)
            }
            (None, _) => None,
        };
        read_back.push(kind);
    }
    read_back
}

/// The most characters a `length` may allow: MySQL's `VARCHAR` holds 16383 of utf8mb4.
const MAX_LENGTH: u32 = 16383;

/// A field's `length`, `precision`, `scale`, `unique`, `index` and `default`, which need a
/// column.
fn column_schema(
    field: &crate::ast::FieldInput<'_>,
    fail: &mut impl FnMut(proc_macro2::Span, String),
) -> ColumnSchema {
    if field.skip.is_some() {
        let given = [
            field.length.as_ref().map(|lit| ("length", lit.span())),
            field
                .precision
                .as_ref()
                .map(|lit| ("precision", lit.span())),
            field.scale.as_ref().map(|lit| ("scale", lit.span())),
            field.unique.map(|span| ("unique", span)),
            field.index.map(|span| ("index", span)),
            field.default.as_ref().map(|lit| ("default", lit.span())),
            field
                .generated
                .as_ref()
                .map(|(span, _)| ("generated", *span)),
            field
                .references
                .as_ref()
                .map(|path| ("references", path.span())),
            field
                .on_delete
                .as_ref()
                .map(|lit| ("on_delete", lit.span())),
        ];
        for (key, span) in given.into_iter().flatten() {
            fail(
                span,
                format!(
                    "`{}` is skipped, so it has no column to take `{key}`",
                    field.ident
                ),
            );
        }
        return ColumnSchema::default();
    }
    let length = field.length.as_ref().and_then(|lit| {
        match lit.base10_parse::<u32>() {
            Ok(0) => fail(
                lit.span(),
                "`length = 0` allows no text at all; give the most characters the column holds, 1 or more".to_owned(),
            ),
            Ok(n) if n <= MAX_LENGTH => return Some((n, lit.span())),
            _ => fail(
                lit.span(),
                format!("`length` is at most {MAX_LENGTH} (MySQL's VARCHAR in utf8mb4); for longer text leave it out"),
            ),
        }
        None
    });
    if let (Some(_), Some(index)) = (field.unique, field.index) {
        fail(
            index,
            format!("`unique` already indexes `{}`; drop `index`", field.ident),
        );
    }
    let default = field.default.as_ref().map(LitStr::value);
    if let (Some(""), Some(lit)) = (default.as_deref(), &field.default) {
        fail(
            lit.span(),
            "the default is empty: write an SQL expression, `default = \"0\"` or `default = \"'draft'\"`".to_owned(),
        );
    }
    ColumnSchema {
        length,
        decimal: decimal_digits(field, fail),
        unique: field.unique.is_some(),
        index: field.index.is_some() && field.unique.is_none(),
        default,
        generated: field
            .generated
            .as_ref()
            .and_then(|(_, expression)| expression.as_ref().map(LitStr::value)),
        references: references(field, fail),
    }
}

/// The most digits a `precision` may allow: MySQL's `DECIMAL` holds 65 (PostgreSQL's
/// `NUMERIC` 1000); one limit for every backend.
const MAX_PRECISION: u8 = 65;

/// The most digits after the point a `scale` may allow: `rust_decimal::Decimal` holds 28
/// (MySQL's `DECIMAL` 30).
const MAX_SCALE: u8 = 28;

/// A column's `precision` and `scale`. Whether the field is a decimal only the compiler
/// knows: the expansion asserts it (`expand::schema`).
fn decimal_digits(
    field: &crate::ast::FieldInput<'_>,
    fail: &mut impl FnMut(proc_macro2::Span, String),
) -> Option<DecimalDigits> {
    let precision = field.precision.as_ref().and_then(|lit| {
        match lit.base10_parse::<u8>() {
            Ok(0) => fail(
                lit.span(),
                format!("`precision = 0` allows no digits at all; give the number of digits the column holds, 1 to {MAX_PRECISION}"),
            ),
            Ok(n) if n <= MAX_PRECISION => return Some((n, lit.span())),
            _ => fail(
                lit.span(),
                format!("`precision` is at most {MAX_PRECISION} (MySQL's DECIMAL); give the number of digits the column holds, 1 to {MAX_PRECISION}"),
            ),
        }
        None
    });
    let scale = match &field.scale {
        None => Some(0),
        Some(lit) if field.precision.is_none() => {
            fail(
                lit.span(),
                format!(
                    "`scale` counts the digits after the point among the column's `precision` digits: give both, as in `#[model(precision = 12, scale = {})]`",
                    lit.base10_digits()
                ),
            );
            None
        }
        Some(lit) => match lit.base10_parse::<u8>() {
            Ok(n) if n <= MAX_SCALE => match precision {
                Some((p, _)) if n > p => {
                    fail(
                        lit.span(),
                        format!("`scale = {n}` is more than `precision = {p}`: the scale counts the digits after the point among the precision's digits, so it is at most {p}"),
                    );
                    None
                }
                _ => Some(n),
            },
            _ => {
                fail(
                    lit.span(),
                    format!("`scale` is at most {MAX_SCALE}, the most digits after the point a `rust_decimal::Decimal` holds"),
                );
                None
            }
        },
    };
    let ((precision, span), scale) = (precision?, scale?);
    Some(DecimalDigits {
        precision,
        scale,
        span,
    })
}

/// A column's `references` and `on_delete`.
fn references(
    field: &crate::ast::FieldInput<'_>,
    fail: &mut impl FnMut(proc_macro2::Span, String),
) -> Option<References> {
    let Some(model) = &field.references else {
        if let Some(lit) = &field.on_delete {
            fail(
                lit.span(),
                format!(
                    "`on_delete` is the action of a foreign key, and `{}` has none: add `references = Model`, as in `#[model(references = Member, on_delete = \"cascade\")]`",
                    field.ident
                ),
            );
        }
        return None;
    };
    let mut listeners = false;
    let on_delete = field.on_delete.as_ref().and_then(|lit| {
        let action = match lit.value().as_str() {
            "cascade" => {
                listeners = true;
                OnDelete::Cascade
            }
            "cascade_in_database" => OnDelete::Cascade,
            "restrict" => OnDelete::Restrict,
            "set_null" => {
                listeners = true;
                OnDelete::SetNull
            }
            "set_null_in_database" => OnDelete::SetNull,
            other => {
                fail(
                    lit.span(),
                    format!(
                        "unknown `on_delete = \"{other}\"`: write \"cascade\", \"set_null\" or \"restrict\" (or \"cascade_in_database\", \"set_null_in_database\" for the database's action without this model's listeners), or leave it out for no `ON DELETE` action"
                    ),
                );
                return None;
            }
        };
        if let (OnDelete::SetNull, None) = (action, option_inner(field.ty)) {
            let ty = field.ty;
            let ty = quote::quote!(#ty).to_string().replace(' ', "");
            fail(
                lit.span(),
                format!(
                    "`on_delete = \"{}\"` sets `{}` to NULL, which `{ty}` cannot hold: make the field an `Option<{ty}>`, or use \"cascade\" or \"restrict\"",
                    lit.value(),
                    field.ident,
                ),
            );
        }
        Some(action)
    });
    Some(References {
        model: model.clone(),
        on_delete,
        listeners,
    })
}

/// The `Option` of a type written `Option<T>` (also `std::option::Option<T>`): where an
/// error about the `Option` points.
fn option_ident(ty: &Type) -> Option<&Ident> {
    option_inner(ty)?;
    let Type::Path(path) = ty else { return None };
    path.path.segments.last().map(|segment| &segment.ident)
}

/// `T` if `ty` is written `Option<T>` (also `std::option::Option<T>`).
pub fn option_inner(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ty else { return None };
    if path.qself.is_some() {
        return None;
    }
    let last = path.path.segments.last()?;
    if last.ident != "Option" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first() {
        Some(GenericArgument::Type(inner)) if args.args.len() == 1 => Some(inner),
        _ => None,
    }
}

/// `BlogPost` -> `blog_post`, `HTTPRequest` -> `http_request`, as Flask-SQLAlchemy names
/// tables.
fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let prev_lower =
                i > 0 && (chars[i - 1].is_lowercase() || chars[i - 1].is_ascii_digit());
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            let prev_upper = i > 0 && chars[i - 1].is_uppercase();
            if i > 0 && chars[i - 1] != '_' && (prev_lower || (prev_upper && next_lower)) {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::snake_case;

    #[test]
    fn table_names_are_snake_case() {
        assert_eq!(snake_case("Post"), "post");
        assert_eq!(snake_case("BlogPost"), "blog_post");
        assert_eq!(snake_case("HTTPRequest"), "http_request");
        assert_eq!(snake_case("Post2Tag"), "post2_tag");
        assert_eq!(snake_case("already_snake"), "already_snake");
    }
}
