"""A team server the tests cannot reach fails the test session; it never skips it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests import servers
from tests.helpers import REPO


@pytest.mark.slow  # a whole pytest session of its own
def test_unreachable_servers_fail_the_tests_instead_of_skipping() -> None:
    dead = servers.free_port()
    env = {
        **os.environ,
        "CI": "true",
        "LINEAGE_TEST_POSTGRES_URL": f"postgresql+psycopg://postgres@127.0.0.1:{dead}/postgres",
        "LINEAGE_TEST_S3_ENDPOINT": f"http://127.0.0.1:{dead}",
        "LINEAGE_TEST_SERVER_TIMEOUT": "0.5",
    }
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/test_catalog.py::test_newest[postgresql]",
         "tests/test_store.py::test_missing_object_is_not_found[s3]"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout
    assert "2 errors" in done.stdout and "skipped" not in done.stdout
    assert "LINEAGE_TEST_POSTGRES_URL: PostgreSQL at" in done.stdout
    assert "LINEAGE_TEST_S3_ENDPOINT: S3 server at" in done.stdout
