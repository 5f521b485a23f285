use model_core::Model;

#[derive(Model)]
#[listens_for(before_insert, check)]
struct Post {
    id: Option<i64>,
}

async fn check(_: &mut Post) -> Result<(), std::io::Error> {
    Ok(())
}

fn main() {}
