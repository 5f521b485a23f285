// Configuration listeners of the wrong shape: each error at the function's name, saying
// what the event passes and expects.
use model_core::ModelInfo;

// `before_model_configured` decides: it returns `Configure`.
#[model_core::listens_for(before_model_configured)]
fn decides_nothing(model: &ModelInfo) {
    let _ = model;
}

// `model_configured` gets one model, not the list.
#[model_core::listens_for(model_configured)]
fn takes_the_list(models: &[&ModelInfo]) {
    let _ = models;
}

// Configuration runs before the first read or write, where nothing awaits.
#[model_core::listens_for(after_configured)]
async fn awaits(models: &[&ModelInfo]) {
    let _ = models;
}

fn main() {}
