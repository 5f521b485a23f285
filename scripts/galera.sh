#!/usr/bin/env bash
# A three-node MariaDB Galera cluster on this machine, loopback only, for the test suite
# (issue 26: the MySQL/MariaDB tests run against it as a fourth backend configuration).
#
#   bash scripts/galera.sh start    # idempotent: a no-op success when the cluster is up
#   bash scripts/galera.sh status   # each node's wsrep state; exit 1 unless all 3 are ready
#   bash scripts/galera.sh stop     # shuts all three nodes down
#
# Nodes: MySQL protocol on 127.0.0.1:3311, 3312, 3313 (root, empty password, database
# `test`, as the main server on 3306); Galera group communication on 4567, 4577, 4587,
# incremental state transfer on base+1, rsync state transfer on base+2. Everything binds to
# 127.0.0.1. Data, sockets and logs live under $GALERA_DIR (default /var/lib/galera-test),
# owned by user mysql; the data is a test fixture: a `start` of a stopped cluster wipes it
# and builds the cluster anew (bootstrap node 1 with --wsrep-new-cluster, then 2 and 3 join
# in turn, each by a full rsync state transfer).
#
# Must run as root (it may apt-get install galera-4 and rsync, and it starts the servers as
# user mysql). Every wait is bounded by $GALERA_TIMEOUT seconds (default 120): past that
# the script says what it waited for, shows the node's log and fails.
set -euo pipefail

BASE="${GALERA_DIR:-/var/lib/galera-test}"
TIMEOUT="${GALERA_TIMEOUT:-120}"
PROVIDER=/usr/lib/galera/libgalera_smm.so
NODES=(1 2 3)
CLUSTER_ADDRESS="gcomm://127.0.0.1:4567,127.0.0.1:4577,127.0.0.1:4587"

sql_port() { echo $((3310 + $1)); }     # 3311 3312 3313
gcomm_port() { echo $((4557 + 10 * $1)); } # 4567 4577 4587 (IST +1, SST +2)
dir() { echo "$BASE/node$1"; }
sock() { echo "$(dir "$1")/mysqld.sock"; }
pidfile() { echo "$(dir "$1")/mysqld.pid"; }
logfile() { echo "$(dir "$1")/error.log"; }

say() { echo "galera: $*"; }
die() {
  echo "galera: ERROR: $*" >&2
  exit 1
}

# The node's server process id, if it is running: the one in its pid file (written once the
# server is up, after a joiner's state transfer) or the one this script launched (before
# that), and only if that process is this node's mariadbd (a stale file may name a number
# that another process has since taken).
node_pid() {
  local pid file
  for file in "$(pidfile "$1")" "$(dir "$1")/launched.pid"; do
    pid="$(cat "$file" 2>/dev/null)" || continue
    [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || continue
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null |
      grep -q -- "^mariadbd --defaults-file=$(dir "$1")/my.cnf" || continue
    echo "$pid"
    return 0
  done
  return 1
}

# One value from the node over its socket (as the OS user root: unix_socket auth), or
# nothing when the node does not answer.
node_sql() {
  local n="$1"
  shift
  mariadb --no-defaults --protocol=socket --socket="$(sock "$n")" -u root -N -B -e "$*" 2>/dev/null
}
node_status() { node_sql "$1" "SHOW GLOBAL STATUS LIKE '$2'" | awk '{print $2}'; }

# Ready: the node is in the primary component, synced, and the cluster has $2 nodes.
node_ready() {
  local n="$1" size="$2"
  [[ "$(node_status "$n" wsrep_ready)" == "ON" ]] &&
    [[ "$(node_status "$n" wsrep_local_state_comment)" == "Synced" ]] &&
    [[ "$(node_status "$n" wsrep_cluster_status)" == "Primary" ]] &&
    [[ "$(node_status "$n" wsrep_cluster_size)" == "$size" ]]
}

show_log() {
  local n="$1"
  echo "---- last lines of $(logfile "$n") ----" >&2
  tail -n 40 "$(logfile "$n")" >&2 2>/dev/null || true
  echo "----" >&2
}

# Waits (bounded) until node $1 is ready in a cluster of $2 nodes.
wait_ready() {
  local n="$1" size="$2" deadline=$((SECONDS + TIMEOUT))
  until node_ready "$n" "$size"; do
    if ! node_pid "$n" >/dev/null && [[ -e "$(pidfile "$n").started" ]]; then
      show_log "$n"
      die "node $n (127.0.0.1:$(sql_port "$n")) exited while starting"
    fi
    if ((SECONDS >= deadline)); then
      show_log "$n"
      die "node $n (127.0.0.1:$(sql_port "$n")) not ready (wsrep_ready=ON, Synced, Primary, wsrep_cluster_size=$size) after ${TIMEOUT}s"
    fi
    sleep 0.3
  done
}

ensure_packages() {
  local missing=()
  [[ -e "$PROVIDER" ]] || missing+=(galera-4)
  command -v rsync >/dev/null || missing+=(rsync)
  # The rsync state transfer script checks its daemon's port with ss (or lsof).
  command -v ss >/dev/null || command -v lsof >/dev/null || missing+=(iproute2)
  command -v mariadbd >/dev/null && command -v mariadb-install-db >/dev/null ||
    missing+=(mariadb-server)
  ((${#missing[@]} == 0)) && return 0
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Update the package lists only when the install cannot find a package without it.
  apt-get install -y -q --no-install-recommends "${missing[@]}" ||
    { apt-get update -q && apt-get install -y -q --no-install-recommends "${missing[@]}"; } ||
    die "could not install ${missing[*]}"
  [[ -e "$PROVIDER" ]] || die "$PROVIDER is missing after installing galera-4"
}

write_config() {
  local n="$1" d gp
  d="$(dir "$n")"
  gp="$(gcomm_port "$n")"
  cat >"$d/my.cnf" <<CNF
# Node $n of the test Galera cluster: written by scripts/galera.sh, rewritten on each start.
[mysqld]
user = mysql
datadir = $d/data
# Its own: three servers (and three mariadb-install-db at once) in one /tmp collide.
tmpdir = $d/tmp
socket = $(sock "$n")
pid-file = $(pidfile "$n")
log-error = $(logfile "$n")
port = $(sql_port "$n")
bind-address = 127.0.0.1
skip-name-resolve
character-set-server = utf8mb4
collation-server = utf8mb4_general_ci
default_storage_engine = InnoDB
binlog_format = ROW
innodb_autoinc_lock_mode = 2
innodb_buffer_pool_size = 128M
# A test fixture: each commit is on three nodes already, so no fsync per commit.
innodb_flush_log_at_trx_commit = 2
wsrep_on = ON
wsrep_provider = $PROVIDER
wsrep_cluster_name = model-tests
wsrep_cluster_address = $CLUSTER_ADDRESS
wsrep_node_name = node$n
wsrep_node_address = 127.0.0.1:$gp
# Group communication listens on loopback only (its default is 0.0.0.0).
wsrep_provider_options = "base_host=127.0.0.1; base_port=$gp; gmcast.listen_addr=tcp://127.0.0.1:$gp; ist.recv_addr=127.0.0.1:$((gp + 1)); gcache.size=64M"
wsrep_sst_method = rsync
wsrep_sst_receive_address = 127.0.0.1:$((gp + 2))
CNF
}

init_node() {
  local n="$1" d
  d="$(dir "$n")"
  rm -rf "$d"
  mkdir -p "$d/data" "$d/tmp"
  write_config "$n"
  chown -R mysql:mysql "$d"
  mariadb-install-db --defaults-file="$d/my.cnf" --user=mysql --skip-test-db \
    --auth-root-authentication-method=socket >"$d/install.log" 2>&1 ||
    {
      cat "$d/install.log" >&2
      tail -n 20 "$(logfile "$n")" >&2 2>/dev/null
      die "mariadb-install-db failed for node $n"
    }
}

launch_node() {
  local n="$1"
  shift
  rm -f "$(pidfile "$n").started"
  say "starting node $n on 127.0.0.1:$(sql_port "$n") $*"
  # A session of its own, so that no signal of the caller's terminal reaches it. A
  # background job of this (non-interactive) script is no process group leader, so setsid
  # does not fork: $! is the server itself.
  setsid mariadbd --defaults-file="$(dir "$n")/my.cnf" "$@" </dev/null >>"$(dir "$n")/stdout.log" 2>&1 &
  echo "$!" >"$(dir "$n")/launched.pid"
  sleep 0.2
  node_pid "$n" >/dev/null || { show_log "$n"; die "node $n exited at start"; }
  # From now on its exit is a failure (wait_ready).
  touch "$(pidfile "$n").started"
}

stop_node() {
  local n="$1" pid deadline
  pid="$(node_pid "$n")" || return 0
  say "stopping node $n (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + TIMEOUT))
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      say "node $n did not stop after ${TIMEOUT}s: killing it"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
  rm -f "$(dir "$n")/launched.pid"
}

all_ready() {
  local n
  for n in "${NODES[@]}"; do node_ready "$n" 3 || return 1; done
}

cmd_start() {
  [[ "$(id -u)" == 0 ]] || die "run as root (it installs packages and starts servers as user mysql)"
  if all_ready; then
    say "already running: 127.0.0.1:3311, 3312, 3313"
    return 0
  fi
  ensure_packages
  local n started=$SECONDS
  # A partly running cluster is restarted whole: nothing is kept.
  for n in 3 2 1; do stop_node "$n"; done
  local port taken
  for n in "${NODES[@]}"; do
    for port in "$(sql_port "$n")" "$(gcomm_port "$n")" $(($(gcomm_port "$n") + 1)) $(($(gcomm_port "$n") + 2)); do
      taken="$(ss -Htlnp "sport = :$port" 2>/dev/null || true)"
      [[ -z "$taken" ]] || die "port $port (node $n) is taken: $taken"
    done
  done
  mkdir -p "$BASE"
  say "initialising data directories under $BASE"
  local -a inits=()
  for n in "${NODES[@]}"; do
    init_node "$n" &
    inits+=("$!")
  done
  for n in "${NODES[@]}"; do wait "${inits[n - 1]}" || die "node $n was not initialised"; done
  # A failure from here on stops what was started, so the next start begins clean.
  trap 'for m in 3 2 1; do stop_node $m; done' EXIT

  say "data directories ready after $((SECONDS - started))s"
  launch_node 1 --wsrep-new-cluster
  wait_ready 1 1
  say "node 1 bootstrapped the cluster after $((SECONDS - started))s"
  # Root over TCP as on the main server (3306): 'root'@'127.0.0.1', mysql_native_password
  # with an empty password (skip-name-resolve, so 127.0.0.1 is the host it is matched by).
  # Done on node 1 before the others join: they receive it with the state transfer.
  node_sql 1 "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED VIA mysql_native_password USING '';
    GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
    CREATE DATABASE IF NOT EXISTS test;" || die "could not create root@127.0.0.1 and database test"

  launch_node 2
  wait_ready 2 2
  say "node 2 joined after $((SECONDS - started))s"
  launch_node 3
  wait_ready 3 3
  say "node 3 joined after $((SECONDS - started))s"
  for n in "${NODES[@]}"; do
    wait_ready "$n" 3
    mariadb --no-defaults -h 127.0.0.1 -P "$(sql_port "$n")" -u root test -N -B -e "SELECT 1" >/dev/null ||
      die "root cannot log in over TCP to 127.0.0.1:$(sql_port "$n")"
  done
  trap - EXIT
  say "cluster of 3 ready in $((SECONDS - started))s: mysql://root@127.0.0.1:3311/test (also 3312, 3313)"
}

cmd_stop() {
  local n
  for n in 3 2 1; do stop_node "$n"; done
  say "stopped"
}

cmd_status() {
  local n ok=0
  for n in "${NODES[@]}"; do
    if pid="$(node_pid "$n")"; then
      echo "node $n 127.0.0.1:$(sql_port "$n") pid $pid:" \
        "ready=$(node_status "$n" wsrep_ready)" \
        "state=$(node_status "$n" wsrep_local_state_comment)" \
        "cluster=$(node_status "$n" wsrep_cluster_status)" \
        "size=$(node_status "$n" wsrep_cluster_size)"
    else
      echo "node $n 127.0.0.1:$(sql_port "$n"): not running"
    fi
    node_ready "$n" 3 || ok=1
  done
  return "$ok"
}

case "${1:-}" in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
*)
  echo "usage: $0 start|stop|status" >&2
  exit 2
  ;;
esac
