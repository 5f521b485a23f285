//! Models and listeners in different modules; one generic listener serves two models.

mod listeners {
    use chrono::{DateTime, Utc};

    pub trait Stamped {
        fn stamp(&mut self, at: DateTime<Utc>);
    }

    pub fn touch<M: Stamped>(model: &mut M) {
        model.stamp(Utc::now());
    }

    pub mod audit {
        pub async fn record<M, DB: model_core::Backend>(
            _model: &M,
            _conn: &mut model_core::Conn<DB>,
        ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
            Ok(())
        }
    }
}

mod models {
    use chrono::{DateTime, Utc};

    #[derive(model_core::Model)]
    #[listens_for(before_insert, crate::listeners::touch)]
    #[listens_for(after_insert, crate::listeners::audit::record)]
    pub struct Post {
        pub id: Option<i64>,
        pub updated_at: Option<DateTime<Utc>>,
    }

    #[derive(model_core::Model)]
    #[listens_for(before_update, super::listeners::touch)]
    pub struct Comment {
        pub id: Option<i64>,
        pub updated_at: Option<DateTime<Utc>>,
    }

    impl crate::listeners::Stamped for Post {
        fn stamp(&mut self, at: DateTime<Utc>) {
            self.updated_at = Some(at);
        }
    }

    impl crate::listeners::Stamped for Comment {
        fn stamp(&mut self, at: DateTime<Utc>) {
            self.updated_at = Some(at);
        }
    }

    /// No listeners at all.
    #[derive(model_core::Model)]
    pub struct Plain {
        pub id: i64,
    }
}

fn main() {
    use model_core::Model;
    assert_eq!(models::Post::LISTENERS.len(), 2);
    assert_eq!(models::Comment::LISTENERS[0].listener, "super::listeners::touch");
    assert!(models::Plain::LISTENERS.is_empty());
}
