use model_core::Model;

#[derive(Clone, Model)]
#[model(track_changes)]
#[listens_for(before_update, reslug)]
struct Post {
    id: Option<i64>,
    title: String,
    slug: String,
}

fn reslug(post: &mut Post, changes: &PostChanges) {
    if let Some(title) = changes.titel() {
        post.slug = title.new.to_lowercase();
    }
}

fn main() {}
