#!/usr/bin/env bash
# This crate's SCIM → SQL translation beside Python's scim2-filter-parser 0.7.0 (PyPI) on the
# same filters and the same SQLite table: correctness (ids returned against the expected ids)
# and the peer's translation time (timeit). This crate's translation time on the same filters:
# `cargo bench --bench sql -- vs-python`. Prints Markdown rows for COMPARE.md.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/scim2-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q scim2-filter-parser==0.7.0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$venv/bin/python" scripts/sql_compare_python.py cases > "$tmp/cases.json"
MFA_SQL_COMPARE_CASES="$tmp/cases.json" MFA_SQL_COMPARE_OUT="$tmp/ours.json" \
  cargo test -q --test sql translate_for_the_python_comparison -- --ignored >/dev/null
"$venv/bin/python" scripts/sql_compare_python.py run "$tmp/ours.json"
