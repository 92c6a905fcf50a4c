#!/usr/bin/env bash
# Load benchmark of the reference server: release build, load generator on the same machine,
# loopback only, bounded (DURATION seconds per scenario, default 10).
#
#   server/bench/load.sh [sqlite|postgres|both]      (default: both)
#   BIN_DIR=dir server/bench/load.sh …   (dir holds mfa-devices-server and authn_load; no build)
#
# Per database: a fresh database, the server with a known token, then at 32 connections
#   list     GET …/users/{u}/devices of a user with 5 devices (wrk)
#   create   POST …/users/{random u}/devices, a new user per request (wrk + create.lua)
#   authn    create → device.select → otp.check, each worker with its own user (examples/authn_load.rs)
# wrk prints requests/s and the latency distribution (p50/p99); the script adds the CPU time the
# server (and PostgreSQL) spent per request. PostgreSQL is a throwaway
# cluster (initdb in a temporary directory, 127.0.0.1, fsync off, like the test kit); SQLite a
# file in a temporary directory (WAL, synchronous=NORMAL). Needs wrk (Debian: apt-get install wrk).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$here/../.."
which="${1:-both}"
duration="${DURATION:-10}"
conns="${CONNECTIONS:-32}"
threads="${THREADS:-2}"
command -v wrk >/dev/null || { echo "wrk is missing (apt-get install wrk)"; exit 1; }
cd "$root"
if [ -n "${BIN_DIR:-}" ]; then # prebuilt binaries (e.g. to compare two builds under one load)
    bin="$BIN_DIR/mfa-devices-server"; load="$BIN_DIR/authn_load"
else
    cargo build --release --quiet -p mfa-devices-server --bin mfa-devices-server --example authn_load
    target="${CARGO_TARGET_DIR:-$root/target}"
    bin="$target/release/mfa-devices-server"
    load="$target/release/examples/authn_load"
fi
env_id="be0c0000-0000-4000-8000-0000000000be"
token="bench-token"
port="${PORT:-18282}"
base="http://127.0.0.1:$port"
work="$(mktemp -d)"
server_pid=""
pg_bin=""
as_pg=()

stop_server() {
    if [ -n "$server_pid" ]; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=""
    fi
}
stop_postgres() {
    if [ -n "$pg_bin" ] && [ -d "$work/pg/data" ]; then
        "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$work/pg/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
}
cleanup() { stop_server; stop_postgres; rm -rf "$work"; }
trap cleanup EXIT

start_postgres() {
    if command -v initdb >/dev/null; then pg_bin="$(dirname "$(command -v initdb)")"; else
        pg_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"; fi
    [ -x "$pg_bin/initdb" ] || { echo "no PostgreSQL server binaries (initdb)"; return 1; }
    mkdir -p "$work/pg"
    if [ "$(id -u)" = 0 ]; then chown postgres: "$work" "$work/pg"; as_pg=(runuser -u postgres --); fi
    "${as_pg[@]}" "$pg_bin/initdb" -D "$work/pg/data" -U postgres -A trust --no-sync >/dev/null
    local pg_port=$((port + 1))
    "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$work/pg/data" -l "$work/pg/log" -w -o \
        "-p $pg_port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$work/pg -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
        start >/dev/null
    database="postgres://postgres@127.0.0.1:$pg_port/postgres"
}

start_server() {
    "$bin" --listen "127.0.0.1:$port" --database "$1" --token "$env_id=$token" \
        >"$work/server.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 1 100); do
        curl -fsS "$base/health" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "the server did not start:"; cat "$work/server.log"; return 1
}

cat >"$work/create.lua" <<LUA
-- A new user per request: the create path without one user's lock serialising everything.
local counter = 0
request = function()
    counter = counter + 1
    local user = string.format("%08x-0000-4000-8000-%012x", math.random(0, 0x7fffffff), counter)
    return wrk.format("POST", "/v1/environments/$env_id/users/" .. user .. "/devices",
        {["Authorization"] = "Bearer $token", ["Content-Type"] = "application/json"},
        '{"type":"EMAIL","email":"load@example.com","status":"ACTIVE"}')
end
LUA

# CPU time (user + system, ms) of a process (and, for PostgreSQL, of the postmaster and its
# backends): divided by the requests served it is the CPU cost of a request, which depends far
# less on the machine's other load than requests/s do.
hz="$(getconf CLK_TCK)"
cpu_ms() {
    local total=0 pid
    for pid in "$@"; do
        [ -r "/proc/$pid/stat" ] || continue
        total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
    done
    echo $((total * 1000 / hz))
}
pg_pids() {
    [ -r "$work/pg/data/postmaster.pid" ] || return 0
    local postmaster; postmaster="$(head -1 "$work/pg/data/postmaster.pid")"
    echo "$postmaster" $(pgrep -P "$postmaster" || true)
}
cpu_mark() { server_cpu0="$(cpu_ms "$server_pid")"; pg_cpu0="$(cpu_ms $(pg_pids))"; }
cpu_per_request() { # requests -> "server N µs/req, postgres M µs/req"
    local server_ms pg_ms
    server_ms=$(($(cpu_ms "$server_pid") - server_cpu0))
    pg_ms=$(($(cpu_ms $(pg_pids)) - pg_cpu0))
    if [ "${1:-0}" -gt 0 ]; then
        printf 'CPU/request: server %d µs' $((server_ms * 1000 / $1))
        [ "$db" = postgres ] && printf ', postgres %d µs' $((pg_ms * 1000 / $1))
    fi
}

summary() { # scenario, wrk output
    local rps p50 p99 requests
    rps="$(awk '/Requests\/sec/ {print $2}' <<<"$2")"
    p50="$(awk '$1 == "50%" {print $2}' <<<"$2")"
    p99="$(awk '$1 == "99%" {print $2}' <<<"$2")"
    requests="$(awk '/requests in/ {print $1}' <<<"$2")"
    local errors; errors="$(grep -E 'Non-2xx|Socket errors' <<<"$2" | tr -s ' ' | tr '\n' ';' || true)"
    printf '%-9s %-7s %10s req/s   p50 %8s   p99 %8s   %s %s\n' "$db" "$1" "$rps" "$p50" "$p99" \
        "$(cpu_per_request "$requests")" "$errors"
}

run_db() {
    db="$1"
    case "$db" in
        sqlite) start_server "sqlite://$work/bench.db" ;;
        postgres) start_postgres; start_server "$database" ;;
    esac
    local user="be0c0000-0000-4000-8000-000000000001"
    for i in 1 2 3 4 5; do
        curl -fsS -o /dev/null -X POST "$base/v1/environments/$env_id/users/$user/devices" \
            -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
            -d "{\"type\":\"EMAIL\",\"email\":\"u$i@example.com\",\"status\":\"ACTIVE\"}"
    done
    cpu_mark
    summary list "$(wrk -t"$threads" -c"$conns" -d"${duration}s" --latency \
        -H "Authorization: Bearer $token" "$base/v1/environments/$env_id/users/$user/devices")"
    cpu_mark
    summary create "$(wrk -t"$threads" -c"$conns" -d"${duration}s" --latency -s "$work/create.lua" "$base")"
    cpu_mark
    local flows; flows="$("$load" "$base" "$env_id" "$token" "$conns" "$duration")"
    printf '%-9s %s %s\n' "$db" "$flows" \
        "$(cpu_per_request "$(sed -n 's/.*(\([0-9]*\) requests.*/\1/p' <<<"$flows")")"
    stop_server
    stop_postgres
}

echo "# $(date -u +%FT%TZ) $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg); $conns connections, ${duration}s per scenario"
case "$which" in
    sqlite|postgres) run_db "$which" ;;
    both) run_db sqlite; run_db postgres ;;
    *) echo "usage: $0 [sqlite|postgres|both]"; exit 2 ;;
esac
