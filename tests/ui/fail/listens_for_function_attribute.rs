//! `#[model_core::listens_for]` on a function or an `impl`: the errors the attribute itself
//! reports, each at the token to change.

use model_core::{AnyModel, Model};

#[derive(Debug, Clone, Model)]
struct Post {
    id: Option<i64>,
}

#[model_core::listens_for(before_insrt)]
fn misspelled(_: &mut Post) {}

#[model_core::listens_for(before_save)]
fn from_rails(_: &mut Post) {}

#[model_core::listens_for("after_insert")]
fn quoted(_: &Post) {}

#[model_core::listens_for(after_insert)]
fn changes_after_the_statement(_: &mut Post) {}

#[model_core::listens_for(before_insert)]
fn reads_where_it_should_change(_: &Post) {}

#[model_core::listens_for(after_update)]
fn every_model_mutably(_: &mut dyn AnyModel) {}

#[model_core::listens_for(before_insert)]
fn no_model() {}

#[model_core::listens_for(before_insert)]
fn by_value(_: Post) {}

#[model_core::listens_for(Post, after_delete)]
#[model_core::listens_for(Post, after_delete)]
fn twice(_: &Post) {}

#[model_core::listens_for(Post)]
fn no_event(_: &Post) {}

#[model_core::listens_for]
impl Post {
    #[listens_for(after_insert)]
    fn method_changes(&mut self) {}

    #[listens_for(Post, after_insert)]
    fn method_names_the_model(&self) {}

    #[listens_for(lod)]
    fn method_misspelled(&mut self) {}
}

impl Post {
    #[model_core::listens_for(before_insert)]
    fn method_without_the_impl_attribute(&mut self) {}
}

#[model_core::listens_for(before_insert)]
struct NotAFunction;

fn main() {}
