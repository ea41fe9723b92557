"""Load: retrieve a table from the source database and log it as the run's `data`."""

from __future__ import annotations

import argparse
import sys

import pyarrow as pa
from source import connect

import lineage


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--table", required=True)
    args = parser.parse_args()
    with connect() as connection:
        tables = {name for (name,) in connection.execute("SELECT name FROM sqlite_master")}
        if args.table not in tables:
            sys.exit(f"load: no table {args.table!r} in the source (tables: {sorted(tables)})")
        cursor = connection.execute(f'SELECT * FROM "{args.table}" ORDER BY 1')
        columns = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
    table = pa.table({name: [row[i] for row in rows] for i, name in enumerate(columns)})
    with lineage.start_run() as run:
        run.log_table("data", table)
        run.log_metric("rows", table.num_rows)
    sys.stdout.write(f"load: retrieved {table.num_rows} rows of {args.table}\n")


if __name__ == "__main__":
    main()
