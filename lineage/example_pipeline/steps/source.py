"""The example's source database: a SQLite file whose `transactions` table grows over time.

    python steps/source.py --add 200     # 200 new transactions arrive

Rows are generated from their id alone, so the same rows always hold the same values and a
retrieval of unchanged data hashes alike.
"""

from __future__ import annotations

import argparse
import math
import random
import sqlite3
import sys
from pathlib import Path

SOURCE = Path(__file__).resolve().parent.parent / "data" / "source.db"
INITIAL_ROWS = 2000


def _row(row_id: int) -> tuple[int, float, int, float, float, int]:
    rng = random.Random(row_id)
    amount = round(rng.lognormvariate(3.5, 1.0), 2)
    hour = rng.randrange(24)
    distance = round(rng.expovariate(1 / 20), 2)
    risk = round(rng.random(), 4)
    night = 1.0 if hour < 6 else 0.0
    score = -6.0 + 0.012 * amount + 1.5 * night + 0.03 * distance + 3.0 * risk
    fraud = int(rng.random() < 1 / (1 + math.exp(-score)))
    return row_id, amount, hour, distance, risk, fraud


def connect() -> sqlite3.Connection:
    """Open the source database, creating it with its first rows on first use."""
    SOURCE.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(SOURCE)
    connection.execute(
        "CREATE TABLE IF NOT EXISTS transactions (id INTEGER PRIMARY KEY, amount REAL, "
        "hour INTEGER, distance REAL, merchant_risk REAL, fraud INTEGER)"
    )
    (count,) = connection.execute("SELECT count(*) FROM transactions").fetchone()
    if count == 0:
        add(connection, INITIAL_ROWS)
    return connection


def add(connection: sqlite3.Connection, rows: int) -> int:
    """Append ``rows`` new transactions; return the new row count."""
    (top,) = connection.execute("SELECT coalesce(max(id), 0) FROM transactions").fetchone()
    connection.executemany(
        "INSERT INTO transactions VALUES (?, ?, ?, ?, ?, ?)",
        [_row(i) for i in range(top + 1, top + 1 + rows)],
    )
    connection.commit()
    (count,) = connection.execute("SELECT count(*) FROM transactions").fetchone()
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--add", type=int, default=0, help="how many new transactions arrive")
    args = parser.parse_args()
    with connect() as connection:
        count = add(connection, args.add) if args.add else None
    if count is not None:
        sys.stdout.write(f"transactions now holds {count} rows\n")


if __name__ == "__main__":
    main()
