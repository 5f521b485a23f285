#!/usr/bin/env bash
# Compile cost of #[derive(Model)] against the same program written by hand with sqlx.
#
#   bash tests/compile-bench/run.sh [N]        # N tables (default 100)
#   PROFILES=debug bash tests/compile-bench/run.sh 100   # debug builds only
#   FRESH=1 PROFILES=debug bash tests/compile-bench/run.sh 100   # the crate's code new
#
# Generates two application crates of N tables with 8 columns each, every table used with
# insert, find, update and delete on SQLite, with one synchronous before_insert and one async
# after_insert listener per model (the hand-written side: the same calls inline, one
# transaction per insert, RETURNING id, try_get decoding). Dependencies are built first;
# then only the application crate is rebuilt (touch + build), three times, and the median
# wall time and the peak memory of the build are printed, debug and release. A benchmark,
# not a test: CI does not run it. Results are recorded in BENCHMARKS.md.
#
# FRESH=1 measures what a developer waits for after a pull or a large edit instead of after
# a `touch`: the dependencies stay built, incremental compilation keeps the profile's
# setting (on in debug), but the application crate's own outputs and incremental cache are
# removed before each build, so rustc compiles all of its code as new.
set -euo pipefail
N="${1:-100}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
WORK="${COMPILE_BENCH_DIR:-$ROOT/target/compile-bench}"
mkdir -p "$WORK"
SQLX_FEATURES='"runtime-tokio", "sqlite", "postgres", "mysql", "chrono"'

gen_crate() { # name, kind
  local dir="$WORK/$1"
  mkdir -p "$dir/src"
  cat >"$dir/Cargo.toml" <<TOML
[package]
name = "$1"
version = "0.1.0"
edition = "2021"
publish = false

[dependencies]
model-core = { path = "$ROOT/model-core" }
sqlx = { version = "0.9", default-features = false, features = [$SQLX_FEATURES] }
tokio = { version = "1", features = ["macros", "rt-multi-thread"] }
chrono = { version = "0.4", default-features = false, features = ["clock", "std"] }

[workspace]
TOML
  {
    echo "#![allow(dead_code, unused_imports)]"
    echo "use chrono::{DateTime, Utc};"
    echo "use model_core::{Backend, Conn, Model};"
    echo "use sqlx::Row;"
    for i in $(seq 1 "$N"); do
      if [ "$2" = model ]; then
        cat <<RS
#[derive(Debug, Clone, Model)]
#[model(table = "t$i")]
#[listens_for(before_insert, stamp_$i)]
#[listens_for(after_insert, audit_$i)]
pub struct T$i {
    pub id: Option<i64>,
    pub a: String,
    pub b: String,
    pub c: i64,
    pub d: i64,
    pub e: f64,
    pub f: bool,
    pub at: Option<DateTime<Utc>>,
}
fn stamp_$i(row: &mut T$i) { row.at = Some(Utc::now()); }
async fn audit_$i<DB: Backend>(row: &T$i, _conn: &mut Conn<DB>) -> Result<(), model_core::Error> {
    assert!(row.id.is_some());
    Ok(())
}
pub async fn use_$i(pool: &sqlx::SqlitePool) -> Result<(), model_core::Error> {
    let mut row = T$i { id: None, a: "a".into(), b: "b".into(), c: 1, d: 2, e: 0.5, f: true, at: None };
    row.insert(pool).await?;
    let mut found = T$i::get(pool, row.id.unwrap()).await?;
    found.c += 1;
    found.update(pool).await?;
    found.delete(pool).await?;
    Ok(())
}
RS
      else
        cat <<RS
#[derive(Debug, Clone)]
pub struct T$i {
    pub id: Option<i64>,
    pub a: String,
    pub b: String,
    pub c: i64,
    pub d: i64,
    pub e: f64,
    pub f: bool,
    pub at: Option<DateTime<Utc>>,
}
fn stamp_$i(row: &mut T$i) { row.at = Some(Utc::now()); }
async fn audit_$i(row: &T$i, _conn: &mut sqlx::SqliteConnection) -> Result<(), sqlx::Error> {
    assert!(row.id.is_some());
    Ok(())
}
fn decode_$i(row: &sqlx::sqlite::SqliteRow) -> Result<T$i, sqlx::Error> {
    Ok(T$i { id: row.try_get(0)?, a: row.try_get(1)?, b: row.try_get(2)?, c: row.try_get(3)?,
             d: row.try_get(4)?, e: row.try_get(5)?, f: row.try_get(6)?, at: row.try_get(7)? })
}
pub async fn use_$i(pool: &sqlx::SqlitePool) -> Result<(), sqlx::Error> {
    let mut row = T$i { id: None, a: "a".into(), b: "b".into(), c: 1, d: 2, e: 0.5, f: true, at: None };
    stamp_$i(&mut row);
    let mut tx = pool.begin().await?;
    let id: i64 = sqlx::query("INSERT INTO t$i (a, b, c, d, e, f, at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id")
        .bind(&row.a).bind(&row.b).bind(row.c).bind(row.d).bind(row.e).bind(row.f).bind(row.at)
        .fetch_one(&mut *tx).await?.try_get(0)?;
    row.id = Some(id);
    audit_$i(&row, &mut tx).await?;
    tx.commit().await?;
    let mut found = decode_$i(&sqlx::query("SELECT id, a, b, c, d, e, f, at FROM t$i WHERE id = ?")
        .bind(id).fetch_one(pool).await?)?;
    found.c += 1;
    sqlx::query("UPDATE t$i SET a = ?, b = ?, c = ?, d = ?, e = ?, f = ?, at = ? WHERE id = ?")
        .bind(&found.a).bind(&found.b).bind(found.c).bind(found.d).bind(found.e).bind(found.f)
        .bind(found.at).bind(id).execute(pool).await?;
    sqlx::query("DELETE FROM t$i WHERE id = ?").bind(id).execute(pool).await?;
    Ok(())
}
RS
      fi
    done
    echo "#[tokio::main] async fn main() {"
    echo "    let pool = sqlx::SqlitePool::connect(\"sqlite::memory:\").await.unwrap();"
    for i in $(seq 1 "$N"); do echo "    let _ = use_$i(&pool).await;"; done
    echo "}"
  } >"$dir/src/main.rs"
}

# Removes what cargo and rustc kept of the application crate (its fingerprint, its outputs,
# its incremental cache), not of its dependencies: the next build compiles the crate anew.
forget() { # name, profile flag
  local profile=debug crate="${1//-/_}"
  [ "$2" = --release ] && profile=release
  (cd "$WORK/$1" && CARGO_TARGET_DIR="$WORK/target" cargo clean -q -p "$1" $2 2>/dev/null)
  rm -rf "$WORK/target/$profile/incremental/$crate"-*
}

# Builds the crate once (dependencies), then the crate alone 3 times; prints the medians of
# "wall-seconds cpu-seconds MB". CPU seconds (user + system, all of rustc's threads) move much
# less than wall time when other builds share the machine: compare those on a busy machine.
measure() { # name, profile flag
  local dir="$WORK/$1"
  (cd "$dir" && CARGO_TARGET_DIR="$WORK/target" cargo build -q $2 2>/dev/null)
  local times=() cpus=() mems=()
  for _ in 1 2 3; do
    if [ -n "${FRESH:-}" ]; then forget "$1" "$2"; else touch "$dir/src/main.rs"; fi
    local out
    out=$( { cd "$dir" && CARGO_TARGET_DIR="$WORK/target" /usr/bin/time -f '%e %U %S %M' cargo build -q $2 2>&1 >/dev/null; } | tail -1)
    read -r wall user sys mem <<<"$out"
    times+=("$wall")
    cpus+=("$(echo "$user + $sys" | bc)")
    mems+=("$mem")
  done
  local t c m
  t=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 2p)
  c=$(printf '%s\n' "${cpus[@]}" | sort -n | sed -n 2p)
  m=$(printf '%s\n' "${mems[@]}" | sort -n | sed -n 2p)
  echo "$t $c $((m / 1024))"
}

gen_crate "bench-hand-$N" hand
gen_crate "bench-model-$N" model
what="rebuild after touch"; [ -n "${FRESH:-}" ] && what="build, the crate's code new,"
echo "| $what of $N tables | hand-written sqlx | #[derive(Model)] | ratio |"
echo "|---|---|---|---|"
for profile in ${PROFILES:-debug release}; do
  flag=""; [ "$profile" = release ] && flag="--release"
  read -r ht hc hm <<<"$(measure "bench-hand-$N" "$flag")"
  read -r mt mc mm <<<"$(measure "bench-model-$N" "$flag")"
  echo "| $profile, s | $ht | $mt | $(echo "scale=2; $mt / $ht" | bc) |"
  echo "| $profile, CPU s | $hc | $mc | $(echo "scale=2; $mc / $hc" | bc) |"
  echo "| $profile peak memory, MB | $hm | $mm | $(echo "scale=2; $mm / $hm" | bc) |"
done
