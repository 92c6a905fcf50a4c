#!/usr/bin/env python3
"""This crate's `filter::sql` beside Python's scim2-filter-parser 0.7.0, on the same filters and
the same SQLite table (Python's sqlite3).

Run through scripts/sql_compare_python.sh, which installs the peer into a virtualenv and
produces this crate's translations (`tests/sql/compare.rs`, an ignored test) as JSON.

    sql_compare_python.py cases   > cases.json        # the filters, for the Rust side
    sql_compare_python.py run ours.json               # executes both, prints the Markdown rows

Every filter runs against one table of five users (flat columns plus their emails, as a joined
table for the peer and as a JSON document column for this crate); the ids each returns are
checked against the ids the filter means (SCIM semantics, RFC 7644 §3.4.2.2, as this crate's
evaluator reads it). Translation time: `timeit` of `SQLQuery(filter, …)` (lexing, parsing and
transpiling from the filter text), the median of 7 repeats; this crate's side is
`cargo bench --bench sql -- vs-python` (criterion median of `Filter::parse` + `to_sql`).
"""

import json
import sqlite3
import statistics
import sys
import timeit

from scim2_filter_parser.queries import SQLQuery

USERS = [
    # id, userName, title, userType, secret, emails
    ("u1", "bjensen", "Tour Guide", "Employee", "x",
     [{"type": "work", "value": "bjensen@example.com"}, {"type": "home", "value": "b@home.org"}]),
    ("u2", "50% off", None, "Employee", "y", [{"type": "home", "value": "x@example.com"}]),
    ("u3", "a_b", "Boss", "Contractor", None, []),
    ("u4", "50X off", "NULL", "Intern", "z", [{"type": "work", "value": "z@example.org"}]),
    ("u5", "axb", "", "Employee", "x", [{"type": "work", "value": "axb@home.org"}]),
]

# The peer's attribute map (its tuple keys: attribute, sub-attribute, URN). `secret` is not in it.
ATTR_MAP = {
    ("userName", None, None): "users.username",
    ("title", None, None): "users.title",
    ("userType", None, None): "users.usertype",
    ("emails", None, None): "emails.value",
    ("emails", "type", None): "emails.type",
    ("emails", "value", None): "emails.value",
}
JOINS = ("LEFT JOIN emails ON emails.user_id = users.id",)

MANY = " or ".join(f'userName eq "v{i}"' for i in range(29)) + ' or userName eq "bjensen"'

# name, filter, expected ids (None: the filter must be refused), what it checks
CASES = [
    ("precedence", 'title eq "Boss" or userType eq "Employee" and userName eq "bjensen"',
     ["u1", "u3"], "`and` binds tighter than `or`"),
    ("co %", 'userName co "50%"', ["u2"], "`%` in a `co` value is a literal"),
    ("co _", 'userName co "a_b"', ["u3"], "`_` in a `co` value is a literal"),
    ("eq null", "title eq null", ["u2"], "`eq null`: absent or null"),
    ("pr", "title pr", ["u1", "u3", "u4"], "`pr`: not null, not empty"),
    ("unmapped under not", 'not (secret eq "x")', None,
     "unmapped attribute: refused, never a dropped clause"),
    ("30 bound values", MANY, ["u1"], "more than 26 bound values"),
    ("value path", 'emails[type eq "work" and value co "@example.com"]', ["u1"],
     "value path: one element satisfies the bracket"),
    ("two value paths", 'emails[type eq "work"] and emails[value ew "home.org"]', ["u1", "u5"],
     "two value paths: each needs its own element"),
    ("not value path", 'not (emails[type eq "work"])', ["u2", "u3"],
     "`not` over a value path (users without emails included)"),
    ("case", 'userName eq "BJENSEN"', ["u1"], "strings ignore case (userName is not caseExact)"),
]


def table():
    db = sqlite3.connect(":memory:")
    db.executescript(
        "CREATE TABLE users (id TEXT PRIMARY KEY, username TEXT, title TEXT, usertype TEXT,"
        " secret TEXT, doc TEXT NOT NULL);"
        "CREATE TABLE emails (user_id TEXT, type TEXT, value TEXT);"
    )
    for uid, name, title, utype, secret, emails in USERS:
        db.execute("INSERT INTO users VALUES (?, ?, ?, ?, ?, ?)",
                   (uid, name, title, utype, secret, json.dumps({"emails": emails})))
        for e in emails:
            db.execute("INSERT INTO emails VALUES (?, ?, ?)", (uid, e["type"], e["value"]))
    return db


class SqliteQuery(SQLQuery):
    placeholder = "?"


def peer(db, text):
    """The peer's ids, or its error."""
    try:
        q = SqliteQuery(text, "users", ATTR_MAP, JOINS)
        rows = db.execute(q.sql, q.params).fetchall()
    except Exception as e:  # noqa: BLE001 - the peer's failure is the measurement
        return None, f"{type(e).__name__}: {e}"
    return sorted({r[0] for r in rows}), None


def ours(db, t):
    if t.get("error"):
        return None, t["error"]
    rows = db.execute(f"SELECT id FROM users WHERE {t['sql']}", t["params"]).fetchall()
    return sorted({r[0] for r in rows}), None


def peer_time_ns(text):
    try:
        SQLQuery(text, "users", ATTR_MAP, JOINS)
    except Exception:  # noqa: BLE001
        return None
    timer = timeit.Timer(lambda: SQLQuery(text, "users", ATTR_MAP, JOINS).sql)
    n, _ = timer.autorange()
    runs = timer.repeat(repeat=7, number=n)
    return statistics.median(runs) / n * 1e9


def verdict(got, err, want):
    if want is None:
        return ("✅ refused: " + err.split(";")[0]) if err else f"❌ returned {got}"
    if err:
        return f"❌ {err}"
    return "✅" if got == want else f"❌ {got}"


def main():
    if sys.argv[1:] == ["cases"]:
        json.dump([{"name": n, "filter": f, "doc": "emails" in f} for n, f, _, _ in CASES],
                  sys.stdout)
        return
    translations = {t["name"]: t for t in json.load(open(sys.argv[2]))}
    db = table()
    print("| case | expected ids | this crate | scim2-filter-parser 0.7.0 |")
    print("|---|---|---|---|")
    for name, text, want, what in CASES:
        o = verdict(*ours(db, translations[name]), want)
        p = verdict(*peer(db, text), want)
        shown = "refused" if want is None else ", ".join(want)
        text = text if len(text) < 80 else 'userName eq "v0" or … (30 terms)'
        print(f"| {what}: `{text}` | {shown} | {o} | {p} |")
    print()
    print("| filter | scim2-filter-parser, SQLQuery from text (µs, timeit median) |")
    print("|---|---|")
    for name, text, _, _ in CASES:
        t = peer_time_ns(text)
        print(f"| {name} | {'—' if t is None else f'{t / 1000:.1f}'} |")


if __name__ == "__main__":
    main()
