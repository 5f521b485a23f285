//! A family of models sharing listeners, model-core's answer to SQLAlchemy's listeners on a
//! base class with `propagate=True`: a trait for the family, one generic listener bounded by
//! it, named on each member. Each member runs it; a model outside the family does not.

use chrono::{DateTime, Utc};
use model_core::Model;
use model_tests::{per_backend, TestBackend, TestDb};

/// The family: models with a `stamped` time and a `revision`.
trait Stamped {
    fn stamp(&mut self, at: DateTime<Utc>);
    fn bump(&mut self);
}

fn touch<M: Stamped>(model: &mut M) {
    model.stamp(Utc::now());
    model.bump();
}

macro_rules! stamped {
    ($model:ident) => {
        impl Stamped for $model {
            fn stamp(&mut self, at: DateTime<Utc>) {
                self.stamped = Some(at);
            }
            fn bump(&mut self) {
                self.revision += 1;
            }
        }
    };
}

// The same listener on two events trips clippy's `duplicated_attributes` (docs/derive.md).
#[allow(clippy::duplicated_attributes)]
#[derive(Debug, Clone, Model)]
#[model(table = "family_articles")]
#[listens_for(before_insert, touch)]
#[listens_for(before_update, touch)]
struct Article {
    id: Option<i64>,
    stamped: Option<DateTime<Utc>>,
    revision: i64,
}
stamped!(Article);

#[derive(Debug, Clone, Model)]
#[model(table = "family_pages")]
#[listens_for(before_insert, touch)]
struct Page {
    id: Option<i64>,
    stamped: Option<DateTime<Utc>>,
    revision: i64,
}
stamped!(Page);

/// Not in the family: nothing stamps it.
#[derive(Debug, Clone, Model)]
#[model(table = "family_drafts")]
struct Draft {
    id: Option<i64>,
    stamped: Option<DateTime<Utc>>,
    revision: i64,
}

async fn one_listener_serves_every_member_of_a_family<DB: TestBackend>(db: &TestDb<DB>) {
    Article::create_table(&db.pool).await.unwrap();
    Page::create_table(&db.pool).await.unwrap();
    Draft::create_table(&db.pool).await.unwrap();
    let mut article = Article {
        id: None,
        stamped: None,
        revision: 0,
    };
    article.insert(&db.pool).await.unwrap();
    article.update(&db.pool).await.unwrap();
    let mut page = Page {
        id: None,
        stamped: None,
        revision: 0,
    };
    page.insert(&db.pool).await.unwrap();
    let mut draft = Draft {
        id: None,
        stamped: None,
        revision: 0,
    };
    draft.insert(&db.pool).await.unwrap();

    let article = Article::get(&db.pool, article.id.unwrap()).await.unwrap();
    assert!(article.stamped.is_some());
    assert_eq!(article.revision, 2, "insert and update");
    let page = Page::get(&db.pool, page.id.unwrap()).await.unwrap();
    assert!(page.stamped.is_some());
    assert_eq!(page.revision, 1);
    let draft = Draft::get(&db.pool, draft.id.unwrap()).await.unwrap();
    assert!(draft.stamped.is_none(), "outside the family");
    assert_eq!(draft.revision, 0);
}

per_backend!(one_listener_serves_every_member_of_a_family);
