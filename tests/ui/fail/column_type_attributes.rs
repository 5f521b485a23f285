use model_core::ColumnType;

#[derive(ColumnType)]
#[column(rename_all = "snake-case", tag = "kind")]
enum Unknown {
    #[column(rename = "a", skip)]
    A,
}

#[derive(ColumnType)]
#[column(repr = "u8")]
enum BadRepr {
    A,
}

#[derive(ColumnType)]
#[column(repr = "i32", rename_all = "lowercase")]
enum Both {
    #[column(rename = "one")]
    One,
}

#[derive(ColumnType)]
#[column(rename_all = "lowercase")]
enum Clash {
    Open,
    #[column(rename = "open")]
    Reopened,
    OPEN,
}

#[derive(ColumnType)]
#[column(rename = "x")]
struct Wrapped(#[column(rename = "y")] i64);

fn main() {}
