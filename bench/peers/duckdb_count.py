"""Exact unique uid per UTC minute of a JSON-lines file, with DuckDB.

A peer in bench/run: it prints "minute users" lines, sorted, the format of
bench/baseline, so the harness compares its counts with headcount's.
Usage: duckdb_count.py FILE
"""
import sys

import duckdb

# Only the two top-level keys are read (matched case-sensitively, escapes
# decoded); ts may be a number or a string of digits, as headcount allows.
QUERY = """
SELECT ts - ts % 60 AS minute, count(DISTINCT uid) AS users
FROM read_json($file, format = 'newline_delimited',
               columns = {uid: 'VARCHAR', ts: 'BIGINT'})
GROUP BY minute
ORDER BY minute
"""


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: duckdb_count.py FILE")
    rows = duckdb.connect().execute(QUERY, {"file": sys.argv[1]}).fetchall()
    sys.stdout.write("".join(f"{m} {n}\n" for m, n in rows))


if __name__ == "__main__":
    main()
