use model_core::Model;

#[derive(Model)]
#[model(length = 5)]
struct Post {
    #[model(unique)]
    id: Option<i64>,
    #[model(length = 0)]
    a: String,
    #[model(length = 20000)]
    b: String,
    #[model(length = "80")]
    c: String,
    #[model(length)]
    d: String,
    #[model(unique = true)]
    e: String,
    #[model(index(name))]
    f: String,
    #[model(default = 0)]
    g: i64,
    #[model(default = "")]
    h: String,
    #[model(unique, unique, length = 5, length = 6)]
    i: String,
    #[model(unique, index)]
    j: String,
    #[model(skip, unique, length = 5, default = "1", index)]
    k: String,
}

#[derive(Model)]
struct Comment {
    id: Option<i64>,
    #[model(length = 80)]
    views: i64,
    #[model(length = 80)]
    tags: Option<Vec<u8>>,
}

fn main() {}
