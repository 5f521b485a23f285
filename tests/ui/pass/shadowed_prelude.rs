//! The expansion names nothing through the user's scope: shadowing the prelude, `sqlx` or
//! `Model` changes nothing, and neither does `#![no_implicit_prelude]`.

#[allow(dead_code)]
mod shadows {
    pub struct Result;
    pub struct Error;
    pub struct Option;
    pub struct Send;
    pub struct Future;
    pub struct Default;
    pub struct Vec;
    pub struct String;
    pub trait Model {}
    pub mod sqlx {}
    pub mod core {}
    pub mod std {}
    pub mod model_core {}
    #[allow(non_upper_case_globals)]
    pub const Ok: () = ();
    #[allow(non_upper_case_globals)]
    pub const Some: () = ();
    #[allow(non_upper_case_globals)]
    pub const query: () = ();
    #[allow(non_upper_case_globals)]
    pub const row: () = ();
}

mod user {
    #[allow(unused_imports)]
    use crate::shadows::*;

    #[derive(::model_core::Model)]
    #[listens_for(before_insert, touch)]
    #[listens_for(load, touch)]
    pub struct Post {
        pub id: ::std::option::Option<i64>,
        pub title: ::std::string::String,
        #[model(skip)]
        pub cache: ::std::vec::Vec<u8>,
    }

    pub fn touch(_: &mut Post) {}
}

#[no_implicit_prelude]
mod bare {
    #[derive(::model_core::Model)]
    #[listens_for(before_update, check)]
    pub struct Note {
        pub id: ::std::option::Option<i64>,
        pub text: ::std::string::String,
    }

    pub fn check(_: &mut Note) -> ::std::result::Result<(), ::std::io::Error> {
        ::std::result::Result::Ok(())
    }
}

fn main() {
    let _ = user::Post { id: None, title: String::new(), cache: Vec::new() };
    let _ = bare::Note { id: None, text: String::new() };
}
