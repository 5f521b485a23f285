use model_core::ColumnType;

#[derive(ColumnType)]
enum WithFields {
    Active,
    Suspended { until: i64 },
    Renamed(String),
}

#[derive(ColumnType)]
enum Empty {}

#[derive(ColumnType)]
struct Pair(i64, i64);

#[derive(ColumnType)]
struct Unit;

#[derive(ColumnType)]
struct Generic<T>(T);

#[derive(ColumnType)]
union Bits {
    int: u32,
    float: f32,
}

fn main() {}
