"""Fixtures only (helpers the tests import are in tests/helpers.py): a fresh project per test,
and the real servers of team mode (PostgreSQL, moto S3), started once per session when needed."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from lineage import api, session
from lineage.run import ActiveRun
from tests import histories, servers
from tests.helpers import LINEAGE_ENV, close_sessions, copy_project, invoke, recording_in
from tests.pipelines import CHAIN, make_pipeline


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist, start the team servers once in the controller for all its workers.

    Each worker is a session of its own, so the session fixtures below would start a server
    per worker; the controller's servers reach them the way a developer's own do, through
    LINEAGE_TEST_POSTGRES_URL and LINEAGE_TEST_S3_ENDPOINT. A server that cannot start here is
    left to the workers' fixtures, which fail the tests that need it with the reason.
    """
    if not _xdist_controller(config):
        return
    started: list[servers.Postgres | servers.Moto] = []
    if not os.environ.get("LINEAGE_TEST_POSTGRES_URL"):
        try:
            postgres = servers.start_postgres()
        except servers.ServerError:
            pass
        else:
            started.append(postgres)
            os.environ["LINEAGE_TEST_POSTGRES_URL"] = postgres.url
    if not os.environ.get("LINEAGE_TEST_S3_ENDPOINT"):
        try:
            moto = servers.Moto()
        except Exception:  # the fixtures report it, as they do without xdist
            pass
        else:
            started.append(moto)
            os.environ["LINEAGE_TEST_S3_ENDPOINT"] = moto.endpoint
            # The controller captures no output: moto's own tracebacks for the uploads a test
            # breaks off on purpose would print between the dots. Tests check what S3 answers.
            logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
    config.stash[_STARTED] = started


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop the servers ``pytest_configure`` started."""
    for server in config.stash.get(_STARTED, []):
        server.stop()


_STARTED = pytest.StashKey[list]()


def _xdist_controller(config: pytest.Config) -> bool:
    """Whether this process hands tests to pytest-xdist workers (``-n N`` with N > 0)."""
    if hasattr(config, "workerinput"):  # a worker
        return False
    workers = config.getoption("numprocesses", default=None)
    return bool(workers) and config.getoption("dist", default="no") != "no"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Keep every test away from the developer's settings and from earlier tests' sessions."""
    for name in LINEAGE_ENV:
        monkeypatch.delenv(name, raising=False)
    # botocore must never go looking for real AWS credentials on the EC2 metadata address.
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    session._sessions.clear()
    yield
    close_sessions()


@pytest.fixture
def one_crowd_at_a_time(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Hold the cores against the other tests that start many processes at once.

    Two such crowds on two cores at the same moment (pytest-xdist workers run side by side)
    would only slow each other down past their patience. A lock file in the session's
    temporary folder, which its workers share, lets one run at a time.
    (xdist's own grouping, --dist loadgroup, does nothing on pytest 9.2: pytest-xdist#1386.)
    """
    # A worker's temporary folder is <the session's>/popen-gwN; alone, the session's own.
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent
    with open(shared / "one-crowd-at-a-time.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh initialized project (SQLite catalog, local store) as the current folder."""
    root = tmp_path / "project"
    api.init(root)
    monkeypatch.chdir(root)
    return root


@pytest.fixture(scope="session")
def resolved_once(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict]]:
    """The small pipeline of tests/pipelines.py with CHAIN resolved once: (root, its chain).

    Read-only: tests that change it take ``resolved_pipeline``, a copy of their own.
    """
    root = tmp_path_factory.mktemp("resolved") / "p"
    root.mkdir()
    with recording_in(root):
        make_pipeline(root)
        done = invoke("resolve", *CHAIN, "--json")
    assert done.exit_code == 0, done.output
    return root, json.loads(done.stdout)["chain"]


@pytest.fixture
def resolved_pipeline(
    tmp_path: Path, resolved_once: tuple[Path, list[dict]]
) -> tuple[Path, list[dict]]:
    """A copy of ``resolved_once`` for this test (three launched runs, nothing else):
    a fresh pipeline and its first resolve without launching the three steps again."""
    source, chain = resolved_once
    return copy_project(source, tmp_path / "resolved"), [dict(link) for link in chain]


@pytest.fixture
def two_versions(project: Path) -> dict[str, ActiveRun]:
    """Two data versions of transactions in ``project``, each with its process and model."""
    return histories.two_versions()


# -- team servers -----------------------------------------------------------------------------
# A server the tests need and cannot have is a failure, never a skip: a skipped backend would
# let CI pass without ever touching PostgreSQL or S3.


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    """A PostgreSQL server: LINEAGE_TEST_POSTGRES_URL, or one started here for the session."""
    given = os.environ.get("LINEAGE_TEST_POSTGRES_URL")
    if given:
        try:
            servers.wait_for_postgres(given, seconds=servers.wait_seconds())
        except servers.ServerError as error:
            pytest.fail(f"LINEAGE_TEST_POSTGRES_URL: {error}", pytrace=False)
        yield given
        return
    try:
        server = servers.start_postgres()
    except servers.ServerError as error:
        pytest.fail(f"cannot start PostgreSQL for the tests: {error}", pytrace=False)
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    url = servers.create_database(postgres_admin_url)
    yield url
    close_sessions()
    servers.drop_database(postgres_admin_url, url)


@pytest.fixture(params=["sqlite", "postgresql"])
def catalog_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty catalog URL on each backend: a SQLite file, a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'catalog.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """An S3 endpoint: LINEAGE_TEST_S3_ENDPOINT, or a moto server started for the session."""
    given = os.environ.get("LINEAGE_TEST_S3_ENDPOINT")
    if given:
        try:
            servers.wait_for_s3(given, seconds=servers.wait_seconds())
        except servers.ServerError as error:
            pytest.fail(f"LINEAGE_TEST_S3_ENDPOINT: {error}", pytrace=False)
        yield given
        return
    try:
        server = servers.Moto()
    except Exception as error:
        pytest.fail(f"cannot start the moto S3 server for the tests: {error}", pytrace=False)
    try:
        yield server.endpoint
    finally:
        server.stop()


@pytest.fixture
def s3_bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An empty bucket of its own on the S3 server, with the AWS variables pointing at it
    (``s3://name``); deleted with its objects afterwards. A bucket per test, not a reset of the
    whole server, so that tests sharing the server never see each other's objects."""
    for name, value in servers.S3_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    bucket = f"lineage-test-{uuid.uuid4().hex[:12]}"
    servers.create_bucket(s3_endpoint, bucket)
    yield f"s3://{bucket}"
    servers.delete_bucket(s3_endpoint, bucket)
