"""Throwaway PostgreSQL and moto S3 servers on loopback, for the tests and the benchmarks.

Both are real servers reached over TCP. PostgreSQL runs from the system's binaries in a temporary
folder (through ``runuser -u postgres`` when we are root, since ``pg_ctl`` refuses to run as
root); moto runs in a thread of this process. Under pytest-xdist the controller starts both
for its workers (tests/conftest.py), and each S3 test works in a bucket of its own.
``scripts/test`` points ``LINEAGE_TEST_SERVER_DIR`` at a folder of its own so that its EXIT trap
can stop a PostgreSQL server that a killed test session left running.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

INSTALL_HINT = (
    "PostgreSQL server binaries (initdb, pg_ctl) are not installed: run ./scripts/test as root "
    "(it installs them), or `apt-get install postgresql`, or set LINEAGE_TEST_POSTGRES_URL to a "
    "server you run yourself"
)


class ServerError(RuntimeError):
    """A test server could not be started."""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_seconds() -> float:
    """How long to wait for a server named by the environment (one just started by CI)."""
    return float(os.environ.get("LINEAGE_TEST_SERVER_TIMEOUT", "30"))


def postgres_bin() -> Path | None:
    """Return the newest installed PostgreSQL bin folder, or None."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
        key=lambda p: [int(x) for x in p.split("/")[4].split(".") if x.isdigit()],
    )
    if found:
        return Path(found[-1]).parent
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).parent if pg_ctl else None


@dataclass
class Postgres:
    """A running throwaway PostgreSQL server; ``url`` names its ``postgres`` database."""

    folder: Path
    bin: Path
    port: int
    as_root: bool

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [*(["runuser", "-u", "postgres", "--"] if self.as_root else []), *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=120)

    def stop(self) -> None:
        """Stop the server and delete its folder."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "fast", "-w",
                  "stop")  # fmt: skip
        shutil.rmtree(self.folder, ignore_errors=True)


def start_postgres() -> Postgres:
    """Start PostgreSQL on a free loopback port in a temporary folder; raise ServerError."""
    pg_bin = postgres_bin()
    if pg_bin is None:
        raise ServerError(INSTALL_HINT)
    as_root = os.geteuid() == 0
    parent = os.environ.get("LINEAGE_TEST_SERVER_DIR") or None
    if parent:
        os.makedirs(parent, exist_ok=True)
        os.chmod(parent, 0o755)
    folder = Path(tempfile.mkdtemp(prefix="lineage-pg.", dir=parent))
    os.chmod(folder, 0o755)
    if as_root:
        shutil.chown(folder, "postgres", "postgres")
    server = Postgres(folder, pg_bin, free_port(), as_root)
    data = str(folder / "data")
    init = server._run(str(pg_bin / "initdb"), "-D", data, "-U", "postgres", "--auth=trust",
                       "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")  # fmt: skip
    if init.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        raise ServerError(f"initdb failed: {init.stderr.strip().splitlines()[-1:]}")
    options = (
        f"-p {server.port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    start = server._run(str(pg_bin / "pg_ctl"), "-D", data, "-l", str(folder / "server.log"),
                        "-w", "-t", "60", "-o", options, "start")  # fmt: skip
    if start.returncode != 0:
        log = (folder / "server.log").read_text(errors="replace") if folder.exists() else ""
        shutil.rmtree(folder, ignore_errors=True)
        raise ServerError(f"pg_ctl start failed: {start.stderr.strip()} {log[-500:]}")
    return server


def create_database(admin_url: str, name: str | None = None, icu_locale: str | None = None) -> str:
    """Create a fresh database on the server of ``admin_url``; return its URL.

    ``icu_locale`` (such as ``en-US``) gives it a language collation, as most production
    databases have, instead of the test server's byte order.
    """
    import sqlalchemy as sa

    name = name or f"lineage_{uuid.uuid4().hex[:12]}"
    options = (
        f" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE '{icu_locale}'" if icu_locale else ""
    )
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"{options}')
    finally:
        engine.dispose()
    return str(sa.engine.make_url(admin_url).set(database=name).render_as_string(False))


def drop_database(admin_url: str, url: str) -> None:
    """Drop the database of ``url`` (closing whatever still uses it)."""
    import sqlalchemy as sa

    name = sa.engine.make_url(url).database
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        engine.dispose()


def wait_for_postgres(admin_url: str, seconds: float = 30) -> None:
    """Wait until the server of ``admin_url`` accepts connections; raise ServerError."""
    import sqlalchemy as sa

    engine = sa.create_engine(admin_url, connect_args={"connect_timeout": 5})
    deadline = time.monotonic() + seconds
    try:
        while True:
            try:
                with engine.connect() as conn:
                    conn.exec_driver_sql("SELECT 1")
                return
            except Exception as error:
                if time.monotonic() > deadline:
                    raise ServerError(
                        f"PostgreSQL at {admin_url} is not reachable: {error}"
                    ) from None
                time.sleep(0.2)
    finally:
        engine.dispose()


class Moto:
    """A moto S3 server in a thread of this process, on a free loopback port."""

    def __init__(self) -> None:
        import logging

        from moto.server import ThreadedMotoServer

        # One log line per request would bury the test output.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()
        wait_for_s3(self.endpoint)

    def stop(self) -> None:
        self._server.stop()


def wait_for_s3(endpoint: str, seconds: float = 30) -> None:
    """Wait until the moto server at ``endpoint`` answers; raise ServerError."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=5):
                return
        except OSError as error:
            if time.monotonic() > deadline:
                raise ServerError(f"S3 server at {endpoint} is not reachable: {error}") from None
            time.sleep(0.1)


def create_bucket(endpoint: str, bucket: str) -> None:
    """Create an empty ``bucket`` on the S3 server at ``endpoint``."""
    _s3_client(endpoint).create_bucket(Bucket=bucket)


def delete_bucket(endpoint: str, bucket: str) -> None:
    """Delete ``bucket`` of the S3 server at ``endpoint``: its unfinished uploads, its objects,
    then the bucket itself."""
    client = _s3_client(endpoint)
    for upload in client.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
        client.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if keys:
            client.delete_objects(Bucket=bucket, Delete={"Objects": keys})
    client.delete_bucket(Bucket=bucket)


S3_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    # Without this, botocore probes the EC2 metadata address and hangs for about 17 s.
    "AWS_EC2_METADATA_DISABLED": "true",
}


def _s3_client(endpoint: str) -> Any:
    """A boto3 client of the server at ``endpoint``: boto3's default session keeps the service
    model it loaded, so this is quick after the first (an s3fs filesystem takes ~0.5 s)."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=S3_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=S3_ENV["AWS_SECRET_ACCESS_KEY"],
        region_name=S3_ENV["AWS_DEFAULT_REGION"],
    )
