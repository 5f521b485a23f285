#!/usr/bin/env bash
# The seed (app.py, the Flask-SQLAlchemy tutorial's blog) under the same wrk run as
# blog-example/bench.sh: gunicorn on a fresh SQLite file, then the rows counted.
#
#   seed/bench.sh [-c CONNECTIONS] [-d SECONDS] [-w WORKERS] [-k WORKER_CLASS] [-t THREADS]
#
# Defaults: 8 connections, 10 s, 2 gthread workers of 4 threads each, the best of the
# configurations tried on this 2-core machine (2, 3, 4 and 8 sync workers; 2 and 4 gthread
# workers). The packages (requirements.txt) are installed from PyPI into a virtual
# environment at $SEED_VENV (default /tmp/seed-venv).
set -euo pipefail
connections=8
seconds=10
workers=2
class=gthread
threads=4
while getopts c:d:w:k:t: option; do
  case $option in
    c) connections=$OPTARG ;;
    d) seconds=$OPTARG ;;
    w) workers=$OPTARG ;;
    k) class=$OPTARG ;;
    t) threads=$OPTARG ;;
    *) echo "usage: $0 [-c CONNECTIONS] [-d SECONDS] [-w WORKERS] [-k WORKER_CLASS] [-t THREADS]" >&2; exit 2 ;;
  esac
done
seed=$(cd "$(dirname "$0")" && pwd)
venv=${SEED_VENV:-/tmp/seed-venv}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
if ! "$venv/bin/python" -c "import flask, flask_sqlalchemy, gunicorn" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q -r "$seed/requirements.txt"
fi
dir=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$dir"' EXIT
# The table is created once, before the workers start (each would race to create it).
(cd "$dir" && SEED_DATABASE_URL="sqlite:///$dir/blog.db" PYTHONPATH="$seed" "$venv/bin/python" -c "import app")
(cd "$dir" && SEED_DATABASE_URL="sqlite:///$dir/blog.db" exec "$venv/bin/gunicorn" \
  --chdir "$seed" -b 127.0.0.1:5078 -w "$workers" -k "$class" --threads "$threads" \
  --log-level warning app:app >"$dir/server.log" 2>&1) &
server=$!
for _ in $(seq 100); do curl -sf -o /dev/null http://127.0.0.1:5078/add_post && break; sleep 0.1; done
wrk -t2 -c"$connections" -d"$seconds"s --latency http://127.0.0.1:5078/add_post | tee "$dir/wrk.txt"
sleep 0.5
requests=$(awk '/requests in/ {print $1}' "$dir/wrk.txt")
errors=$(awk '/Non-2xx/ {print $NF}' "$dir/wrk.txt")
rows=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from post').fetchone()[0])" "$dir/blog.db")
echo "seed ($workers $class workers, $threads threads): requests answered: $requests, non-2xx: ${errors:-0}, rows stored: $rows (one more for the readiness check)"
