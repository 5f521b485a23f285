use model_core::{ColumnType, Model};

/// Not a column type: neither is a newtype of it. Reported at the field's type.
#[derive(ColumnType)]
struct Flags(u8);

#[derive(ColumnType)]
struct Point {
    xy: (f64, f64),
}

/// A model using one: the error names the newtype's field.
#[derive(Model)]
struct Shape {
    id: Option<i64>,
    flags: Flags,
}

/// A newtype of a type that is not a generated key is not one either.
#[derive(Debug, Clone, PartialEq, ColumnType)]
struct Code(String);

#[derive(Model)]
struct Coupon {
    id: Option<Code>,
}

fn main() {}
