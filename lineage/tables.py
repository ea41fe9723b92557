"""pyarrow tables <-> Parquet objects, serialized deterministically.

The same rows and schema give the same bytes, so the same data gives the same hash: no
timestamps in the file, no pandas index, fixed writer options.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import TYPE_CHECKING, Any

from lineage.errors import UsageError

if TYPE_CHECKING:
    import pyarrow as pa

FORMAT = "parquet"


def to_arrow(data: Any) -> pa.Table:
    """Accept a pyarrow Table or a pandas DataFrame; return a pyarrow Table."""
    import pyarrow as pa

    if isinstance(data, pa.Table):
        return data
    if type(data).__module__.startswith("pandas") and hasattr(data, "columns"):
        # A default RangeIndex carries no data; dropping it keeps the bytes stable.
        return pa.Table.from_pandas(data, preserve_index=False)
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    raise UsageError(
        f"log_table takes a pyarrow.Table or a pandas.DataFrame, not {type(data).__name__}"
    )


def write_parquet(table: pa.Table, directory: str | None = None) -> str:
    """Write ``table`` as deterministic Parquet to a temporary file; return its path."""
    import pyarrow.parquet as pq

    fd, path = tempfile.mkstemp(suffix=".parquet", dir=directory)
    os.close(fd)
    pq.write_table(
        table,
        path,
        compression="zstd",
        use_dictionary=True,
        write_statistics=True,
        store_schema=True,
    )
    return path


def read_parquet(path_or_file: Any) -> pa.Table:
    """Read a Parquet object back as a pyarrow Table."""
    import pyarrow.parquet as pq

    return pq.read_table(path_or_file)


def describe_schema(table: pa.Table) -> str:
    """Return the schema as compact JSON: ``[{"name": ..., "type": ...}, ...]``."""
    fields = [{"name": f.name, "type": str(f.type)} for f in table.schema]
    return json.dumps(fields, separators=(",", ":"))
