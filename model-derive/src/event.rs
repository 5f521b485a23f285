//! The event names `#[listens_for]` accepts, and the suggestion for a near miss.

use proc_macro2::TokenStream;
use quote::quote;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Event {
    BeforeInsert,
    AfterInsert,
    BeforeUpdate,
    AfterUpdate,
    BeforeDelete,
    AfterDelete,
    Load,
    BeforeCommit,
    AfterInsertCommit,
    AfterUpdateCommit,
    AfterDeleteCommit,
    AfterRollback,
}

impl Event {
    pub const ALL: [Event; 12] = [
        Event::BeforeInsert,
        Event::AfterInsert,
        Event::BeforeUpdate,
        Event::AfterUpdate,
        Event::BeforeDelete,
        Event::AfterDelete,
        Event::Load,
        Event::BeforeCommit,
        Event::AfterInsertCommit,
        Event::AfterUpdateCommit,
        Event::AfterDeleteCommit,
        Event::AfterRollback,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Event::BeforeInsert => "before_insert",
            Event::AfterInsert => "after_insert",
            Event::BeforeUpdate => "before_update",
            Event::AfterUpdate => "after_update",
            Event::BeforeDelete => "before_delete",
            Event::AfterDelete => "after_delete",
            Event::Load => "load",
            Event::BeforeCommit => "before_commit",
            Event::AfterInsertCommit => "after_insert_commit",
            Event::AfterUpdateCommit => "after_update_commit",
            Event::AfterDeleteCommit => "after_delete_commit",
            Event::AfterRollback => "after_rollback",
        }
    }

    pub fn from_name(name: &str) -> Option<Event> {
        Event::ALL.into_iter().find(|e| e.name() == name)
    }

    /// Whether listeners get `&mut Model` (else `&Model`). Mirrors
    /// `model_core::Event::is_mutable`.
    pub fn is_mutable(self) -> bool {
        matches!(
            self,
            Event::BeforeInsert | Event::BeforeUpdate | Event::Load
        )
    }

    /// Whether listeners run after the outermost commit. Mirrors
    /// `model_core::Event::is_after_commit`.
    pub fn is_after_commit(self) -> bool {
        matches!(
            self,
            Event::AfterInsertCommit | Event::AfterUpdateCommit | Event::AfterDeleteCommit
        )
    }

    /// Whether listeners run once the outermost transaction has ended, with the commit
    /// listeners' shapes (`fn(&M)`, `async fn(&M)`). Mirrors
    /// `model_core::Event::is_after_transaction`.
    pub fn is_after_transaction(self) -> bool {
        self.is_after_commit() || self == Event::AfterRollback
    }

    /// `::model_core::__private::Event::BeforeInsert`, etc.
    pub fn path(self) -> TokenStream {
        let variant = match self {
            Event::BeforeInsert => quote!(BeforeInsert),
            Event::AfterInsert => quote!(AfterInsert),
            Event::BeforeUpdate => quote!(BeforeUpdate),
            Event::AfterUpdate => quote!(AfterUpdate),
            Event::BeforeDelete => quote!(BeforeDelete),
            Event::AfterDelete => quote!(AfterDelete),
            Event::Load => quote!(Load),
            Event::BeforeCommit => quote!(BeforeCommit),
            Event::AfterInsertCommit => quote!(AfterInsertCommit),
            Event::AfterUpdateCommit => quote!(AfterUpdateCommit),
            Event::AfterDeleteCommit => quote!(AfterDeleteCommit),
            Event::AfterRollback => quote!(AfterRollback),
        };
        quote!(::model_core::__private::Event::#variant)
    }
}

/// The message for an unknown event name: a suggestion for a typo or for another ORM's
/// name for the same thing, then the list of events.
pub fn unknown_event_message(name: &str) -> String {
    let list = Event::ALL.map(Event::name).join(", ") + ", " + crate::query_listener::EVENT;
    let hint = match name {
        _ if crate::configure_listener::is_event(name) => Some(format!(
            "`{name}` is a configuration event, run once before the first read or write: put \
             `#[model_core::listens_for({name})]` on a function"
        )),
        _ if crate::transaction_listener::is_event(name) => Some(format!(
            "`{name}` is an event of the transaction, not of a model's rows: put \
             `#[model_core::listens_for({name})]` on a function taking \
             `&model_core::TransactionInfo`"
        )),
        // Names users bring from Rails, Django, GORM and SQLAlchemy's other events.
        "before_save" | "pre_save" | "before_create" | "pre_insert" => {
            Some("did you mean `before_insert` (or `before_update`)?".to_owned())
        }
        "after_save" | "post_save" | "after_create" | "post_insert" => {
            Some("did you mean `after_insert` (or `after_update`)?".to_owned())
        }
        "after_find" | "after_load" | "on_load" | "post_load" | "after_initialize" => {
            Some("did you mean `load`?".to_owned())
        }
        "after_commit" | "on_commit" | "after_create_commit" | "after_save_commit" => Some(
            "did you mean `after_insert_commit` (or `after_update_commit`, `after_delete_commit`)? \
             once per transaction rather than per row: `transaction_after_commit` on a function"
                .to_owned(),
        ),
        "after_destroy_commit" => Some("did you mean `after_delete_commit`?".to_owned()),
        "pre_commit" | "on_before_commit" => Some("did you mean `before_commit`?".to_owned()),
        "on_rollback" | "after_rollback_commit" | "rollback" | "after_abort" => {
            Some("did you mean `after_rollback`?".to_owned())
        }
        "before_destroy" | "pre_delete" => Some("did you mean `before_delete`?".to_owned()),
        "after_destroy" | "post_delete" => Some("did you mean `after_delete`?".to_owned()),
        _ if edit_distance(&name.to_ascii_lowercase(), crate::query_listener::EVENT) <= 3 => {
            Some(format!("did you mean `{}`?", crate::query_listener::EVENT))
        }
        _ => closest(name).map(|event| format!("did you mean `{}`?", event.name())),
    };
    match hint {
        Some(hint) => format!("unknown event `{name}`; {hint}\nthe events are: {list}"),
        None => format!("unknown event `{name}`\nthe events are: {list}"),
    }
}

/// The event within a small edit distance of `name`, if any.
fn closest(name: &str) -> Option<Event> {
    let lower = name.to_ascii_lowercase();
    Event::ALL
        .into_iter()
        .map(|event| (edit_distance(&lower, event.name()), event))
        .filter(|&(distance, event)| distance <= (event.name().len() / 3).max(1))
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, event)| event)
}

/// Levenshtein distance; the names are short, so the quadratic table is fine.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitution = previous + usize::from(ca != cb);
            previous = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(previous + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_near_misses() {
        assert_eq!(closest("before_insrt"), Some(Event::BeforeInsert));
        assert_eq!(closest("Before_Insert"), Some(Event::BeforeInsert));
        assert_eq!(closest("after_updat"), Some(Event::AfterUpdate));
        assert_eq!(closest("lod"), Some(Event::Load));
        assert_eq!(closest("before_comit"), Some(Event::BeforeCommit));
        assert_eq!(closest("after_rolback"), Some(Event::AfterRollback));
        assert_eq!(closest("frobnicate"), None);
    }
}
