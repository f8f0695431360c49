"""Exact unique uid per UTC minute of a JSON-lines file, with chDB (ClickHouse).

A peer in bench/run: it prints "minute users" lines, sorted, the format of
bench/baseline, so the harness compares its counts with headcount's.
Usage: chdb_count.py FILE
"""
import sys

import chdb

# match_case: ClickHouse's default ('auto') also matches keys case-
# insensitively, and the reference frames carry look-alike keys ("\u0055ID"),
# which it then rejects as a duplicate uid. JSON keys are case-sensitive.
QUERY = """
SELECT intDiv(ts, 60) * 60 AS minute, uniqExact(uid) AS users
FROM file({file:String}, JSONEachRow, 'uid String, ts Int64')
GROUP BY minute
ORDER BY minute
SETTINGS input_format_column_name_matching_mode = 'match_case'
"""


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: chdb_count.py FILE")
    out = chdb.query(QUERY, "TSV", params={"file": sys.argv[1]})
    sys.stdout.write(out.bytes().decode().replace("\t", " "))


if __name__ == "__main__":
    main()
