//! Pass 2: checks the parsed attributes and resolves every default, so that expansion has
//! nothing left to decide.

use std::collections::HashMap;

use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{GenericArgument, Ident, Path, PathArguments, Type, Visibility};

use crate::ast::{path_text, Input};
use crate::ctxt::Ctxt;
use crate::event::{unknown_event_message, Event};

/// A model ready to expand.
pub struct Model<'a> {
    pub ident: &'a Ident,
    pub vis: &'a Visibility,
    pub table: String,
    /// Every field, columns and skipped ones, in declaration order.
    pub fields: Vec<Field<'a>>,
    /// Index into `fields` of the primary key.
    pub primary_key: usize,
    /// `#[model(track_changes)]`, with its span.
    pub track_changes: Option<proc_macro2::Span>,
    /// Index into `fields` of the `#[model(version)]` column.
    pub version: Option<usize>,
    pub listeners: Vec<Listener>,
}

pub struct Field<'a> {
    pub ident: &'a Ident,
    pub vis: &'a Visibility,
    pub ty: &'a Type,
    /// `None` for a `#[model(skip)]` field.
    pub column: Option<String>,
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

    /// `T` for an `Option<T>` primary key, which the database generates when `None`.
    pub fn generated_key(&self) -> Option<&Type> {
        option_inner(self.fields[self.primary_key].ty)
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
        Some(lit) => lit.value(),
        None => snake_case(&input.ident.unraw().to_string()),
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
        fields.push(Field {
            ident: field.ident,
            vis: field.vis,
            ty: field.ty,
            column,
        });
    }

    // The primary key: the one marked field, or the field named `id`.
    let marked: Vec<usize> = (0..input.fields.len())
        .filter(|&i| input.fields[i].primary_key.is_some())
        .collect();
    let primary_key = match marked.as_slice() {
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
            id
        }
        [one] => Some(*one),
        [first, rest @ ..] => {
            for &extra in rest {
                fail(
                    input.fields[extra].primary_key.expect("marked"),
                    format!(
                        "`{}` is already the primary key; a model has exactly one (composite keys are not supported)",
                        input.fields[*first].ident
                    ),
                );
            }
            Some(*first)
        }
    };

    let version = check_version(&input, primary_key, &mut fail);

    let mut listeners: Vec<Listener> = Vec::with_capacity(input.listeners.len());
    for attr in input.listeners {
        let name = attr.event.unraw().to_string();
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

    if !ok || input.fields.is_empty() {
        return None;
    }
    Some(Model {
        ident: input.ident,
        vis: input.vis,
        table,
        fields,
        primary_key: primary_key?,
        track_changes: input.track_changes,
        version,
        listeners,
    })
}

/// The one `#[model(version)]` field, if any: a column, not the key.
fn check_version(
    input: &Input<'_>,
    primary_key: Option<usize>,
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
        } else if primary_key == Some(i) {
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

/// `T` if `ty` is written `Option<T>` (also `std::option::Option<T>`).
fn option_inner(ty: &Type) -> Option<&Type> {
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
