#!/usr/bin/env bash
# Loads 1,000,000 generated PingOne audit activities into a throwaway PostgreSQL cluster with the
# documented indexes, prints EXPLAIN for translated `recordedAt gt …` / `action.type eq …`
# filters, and their query time beside the compiled evaluator over the same rows in memory.
# MFA_SQL_EXPLAIN_ROWS=100000 scripts/sql_explain.sh for a smaller run.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo test --release --test sql explain_activities -- --ignored --nocapture
