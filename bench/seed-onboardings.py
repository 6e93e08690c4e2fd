"""Fill a benchmark database with copies of one real sign-up (`cargo xtask bench`, growth).

Usage: python3 bench/seed-onboardings.py DATABASE COPIES

DATABASE is a SQLite file the proxy wrote, holding exactly one onboarding: the template,
created through the real POST with a session, its steps done and its partner events
delivered. This adds COPIES copies of every row that belongs to it (the onboarding, its
steps, its register attempt and budget row, its session, its partner events), each with
fresh identifiers, so the proxy then runs with that many sign-ups already stored, written in
the shape it writes them itself. Going through the POST for 100,000 of them would take
minutes of the run; copying takes seconds.

Standard library only. Schema-agnostic on purpose: the rows to copy are those that mention
the template's onboarding or session, and the identifiers to change are the values of their
`id`, `*_id`, `customer_ref` and `token_sha256` columns, replaced wherever they occur
(including inside stored JSON).
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


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit(__doc__.split("\n\n")[1])
    path, copies = sys.argv[1], int(sys.argv[2])
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode = WAL")
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

    with con:
        for table, (columns, rows) in templates.items():
            # Per cell, once: the identifiers it contains (most cells contain none).
            plans = [
                [
                    [i for i in identifiers if isinstance(v, str) and i in v]
                    for v in row
                ]
                for row in rows
            ]
            marks = ", ".join("?" for _ in columns)
            names = ", ".join(f'"{c}"' for c in columns)
            sql = f'INSERT INTO "{table}" ({names}) VALUES ({marks})'

            def copies_of(k: int):
                for row, plan in zip(rows, plans):
                    out = []
                    for value, found in zip(row, plan):
                        for i in found:
                            value = value.replace(i, copy_of(i, k))
                        out.append(value)
                    yield out

            con.executemany(sql, (r for k in range(1, copies + 1) for r in copies_of(k)))
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    count = con.execute("SELECT COUNT(*) FROM onboardings").fetchone()[0]
    con.close()
    print(f"{path}: {count} onboardings")


if __name__ == "__main__":
    main()
