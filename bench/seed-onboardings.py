"""Fill a benchmark database with copies of one real sign-up (`cargo xtask bench`, growth).

Usage: python3 bench/seed-onboardings.py DATABASE COPIES [--due-now]

DATABASE is a SQLite file the proxy wrote, holding exactly one onboarding: the template,
created through the real POST with a session, its steps done and its partner events
delivered. This adds COPIES copies of every row that belongs to it (the onboarding, its
steps, its register attempt and budget row, its session, its client token, its partner
events), each with fresh identifiers, so the proxy then runs with that many sign-ups already
stored, written in the shape it writes them itself. Going through the POST for a million of
them would take most of an hour; copying takes a minute or two.

--due-now: the template and its copies have never had their health read (`health_due_at`
empty), so the proxy's health schedule finds every one of them due at once.

Standard library only. Schema-agnostic on purpose: the rows to copy are those that mention
the template's onboarding or session, and the identifiers to change are the values of their
`id`, `*_id`, `customer_ref` and `token_sha256` columns, replaced wherever they occur
(including inside stored JSON).

Fast on purpose: each template row is copied by one `INSERT … SELECT` over a counter (a
recursive CTE), so the copies are made by SQLite itself, in C, rather than row by row in
Python; all in one transaction, with the rollback journal instead of the WAL (the pages
are new: nothing to journal) and no syncs until the end. The k-th copy of an identifier is
built in SQL the same way `copy_of` builds it.
"""

import sqlite3
import sys

IDENTIFIER_COLUMNS = ("id", "customer_ref", "token_sha256")
HEX = set("0123456789abcdef")


def copy_of(value: str, k: int) -> str:
    """The k-th copy of an identifier: same length and alphabet where it can be."""
    if value.isdigit() and len(value) >= 9:
        # Digits: the last one kept (the benchmark's ids end in 1, the fake's happy path).
        return value[:-8] + f"{k:07d}" + value[-1]
    if len(value) >= 8 and set(value[-8:]) <= HEX:
        return value[:-8] + f"{k:08x}"
    return f"{value}-{k}"


def copy_sql(value: str):
    """`copy_of(value, k.n)` as an SQL expression over the counter `k`, and its parameters."""
    if value.isdigit() and len(value) >= 9:
        return "(? || printf('%07d', k.n) || ?)", [value[:-8], value[-1]]
    if len(value) >= 8 and set(value[-8:]) <= HEX:
        return "(? || printf('%08x', k.n))", [value[:-8]]
    return "(? || '-' || k.n)", [value]


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    due_now = "--due-now" in sys.argv[1:]
    if len(args) != 2:
        sys.exit(__doc__.split("\n\n")[1])
    path, copies = args[0], int(args[1])
    # Every copy is checked against copy_of's shapes below; the counter's width is 7 digits.
    if copies >= 10_000_000:
        sys.exit("at most 9,999,999 copies")
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode = DELETE")
    con.execute("PRAGMA synchronous = OFF")
    con.execute("PRAGMA cache_size = -1000000")
    onboardings = con.execute("SELECT id, session_id FROM onboardings").fetchall()
    if len(onboardings) != 1:
        sys.exit(f"{path}: expected exactly one onboarding to copy, found {len(onboardings)}")
    seeds = {v for v in onboardings[0] if v is not None}

    tables = [
        r[0]
        for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite_%' AND name != '_sqlx_migrations'"
        )
    ]
    con.execute("BEGIN")
    if due_now:
        con.execute("UPDATE onboardings SET health_due_at = NULL")
    # Every table's rows that belong to the template: those naming the onboarding or session.
    templates = {}
    for table in tables:
        columns = [c[1] for c in con.execute(f'PRAGMA table_info("{table}")')]
        rows = [r for r in con.execute(f'SELECT * FROM "{table}"') if seeds & set(r)]
        if rows:
            templates[table] = (columns, rows)

    identifiers = set()
    for columns, rows in templates.values():
        for row in rows:
            for column, value in zip(columns, row):
                named = column in IDENTIFIER_COLUMNS or column.endswith("_id")
                if named and isinstance(value, str) and value:
                    identifiers.add(value)
    # Longest first, so no identifier is replaced inside a longer one.
    identifiers = sorted(identifiers, key=len, reverse=True)

    for table, (columns, rows) in templates.items():
        names = ", ".join(f'"{c}"' for c in columns)
        for row in rows:
            exprs, params = [], []
            for value in row:
                expr, ps = "?", [value]
                if isinstance(value, str):
                    for i in identifiers:
                        if i in value:
                            c, cps = copy_sql(i)
                            expr = f"replace({expr}, ?, {c})"
                            ps = ps + [i] + cps
                exprs.append(expr)
                params.extend(ps)
            con.execute(
                "WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < ?) "
                f'INSERT INTO "{table}" ({names}) SELECT {", ".join(exprs)} FROM k',
                [copies] + params,
            )
    # The SQL copies are the Python ones (a check of the shapes, on the last copy).
    for i in identifiers:
        c, ps = copy_sql(i)
        got = con.execute(f"SELECT {c} FROM (SELECT ? AS n) AS k", ps + [copies]).fetchone()[0]
        if got != copy_of(i, copies):
            sys.exit(f"copy of {i!r}: SQL made {got!r}, expected {copy_of(i, copies)!r}")
    con.execute("COMMIT")
    con.execute("PRAGMA journal_mode = WAL")
    count = con.execute("SELECT COUNT(*) FROM onboardings").fetchone()[0]
    con.close()
    print(f"{path}: {count} onboardings")


if __name__ == "__main__":
    main()
