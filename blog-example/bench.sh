#!/usr/bin/env bash
# The blog-example benchmark of BENCHMARKS.md: wrk on /add_post against a release build on a
# fresh SQLite database, then a check that every answered request left exactly one row.
#
#   bench.sh [-c CONNECTIONS] [-d SECONDS] [BINARY [SERVER FLAGS...]]
#
# -c sets wrk's connections (default 8; wrk runs 2 threads), -d its duration (default 10).
# BINARY runs another build instead of building this tree's (to compare two commits); the
# flags after it go to the server (e.g. `--group-commit off`). With a `--database-url` among
# them the server uses that database (fresh, migrated at start) and the rows are not counted.
set -euo pipefail
connections=8
seconds=10
while getopts c:d: option; do
  case $option in
    c) connections=$OPTARG ;;
    d) seconds=$OPTARG ;;
    *) echo "usage: $0 [-c CONNECTIONS] [-d SECONDS] [BINARY [SERVER FLAGS...]]" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
if [ $# -ge 1 ]; then
  bin=$(realpath "$1")
  shift
else
  cargo build --release -p blog-example
  bin=$PWD/target/release/blog-example
fi
dir=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$dir"' EXIT
(cd "$dir" && exec "$bin" --bind 127.0.0.1:5077 "$@" >"$dir/server.log" 2>&1) &
server=$!
for _ in $(seq 50); do curl -sf -o /dev/null http://127.0.0.1:5077/posts && break; sleep 0.1; done
wrk -t2 -c"$connections" -d"$seconds"s --latency http://127.0.0.1:5077/add_post | tee "$dir/wrk.txt"
sleep 0.5
requests=$(awk '/requests in/ {print $1}' "$dir/wrk.txt")
case " $* " in *" --database-url"*) echo "requests answered: $requests (count the rows in that database)"; exit 0 ;; esac
rows=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from posts').fetchone()[0])" "$dir/blog.db")
echo "requests answered: $requests, rows stored: $rows (requests still in flight when wrk stops, at most one per connection, may add rows)"
