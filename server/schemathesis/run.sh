#!/usr/bin/env bash
# Schemathesis against the reference server's own OpenAPI document (GET /openapi.json):
# starts the server on a loopback port with a known token and a throwaway SQLite database,
# runs schemathesis (bounded), stops the server by its PID. Exit status: schemathesis's.
#
#   server/schemathesis/run.sh [path/to/mfa-devices-server]
#
# Needs `schemathesis` (PyPI, v4) on PATH. MAX_EXAMPLES (default 25) and MAX_TIME
# (seconds, default 120) bound the run.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="${1:-$here/../../target/debug/mfa-devices-server}"
port="${PORT:-18181}"
export MFA_ENV="5c1e0000-0000-4000-8000-00000000beef"
export MFA_TOKEN="schemathesis-$RANDOM$RANDOM"
work="$(mktemp -d)"
"$bin" --listen "127.0.0.1:$port" --database "sqlite://$work/api.db" \
    --token "$MFA_ENV=$MFA_TOKEN" >"$work/server.log" 2>&1 &
pid=$!
cleanup() {
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
status=0
(cd "$work" && schemathesis --config-file "$here/schemathesis.toml" run "http://127.0.0.1:$port/openapi.json" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
    --max-examples "${MAX_EXAMPLES:-25}" --max-time "${MAX_TIME:-120}" \
    --workers 1 --request-timeout 10 --seed "${SEED:-1}" --no-shrink \
    --phases examples,coverage,fuzzing,stateful \
    --suppress-health-check all --wait-for-schema 30) || status=$?
if [ "$status" -ne 0 ]; then
    echo "--- server log (last 40 lines)"; tail -40 "$work/server.log"
fi
exit "$status"
