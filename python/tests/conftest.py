"""Fixtures: the real sample files, and a store of each kind (embedded, CQL).

The CQL store needs a node: BARSTORE_TEST_CQL=host:port, which scripts/test sets after
starting a local Cassandra. Without it the CQL tests are skipped (pytest -rs names them),
unless BARSTORE_REQUIRE_CQL=1 (scripts/test sets it too) makes them fail.
"""

import itertools
import os
import signal
import time
from pathlib import Path

import pytest

import barstore

DATA = Path(__file__).resolve().parents[2] / "tests" / "data"
_counter = itertools.count()


def cql_node() -> str:
    """The test node; without one the test is skipped (the reason says how to run it),
    or fails under BARSTORE_REQUIRE_CQL=1, which scripts/test sets."""
    node = os.environ.get("BARSTORE_TEST_CQL")
    if not node:
        why = ("no database node: run scripts/test (it starts a local Cassandra node), or "
               "set BARSTORE_TEST_CQL=host:port to run it on a ScyllaDB/Cassandra node")
        if os.environ.get("BARSTORE_REQUIRE_CQL") == "1":
            pytest.fail(why, pytrace=False)
        pytest.skip(why)
    return node


def fresh_keyspace() -> str:
    return f"py{os.getpid()}_{time.time_ns() % 10**9}_{next(_counter)}"


@pytest.fixture
def ctrl_c():
    """Python's own Ctrl-C handler, whatever the suite was started with: a shell that
    starts a command in the background starts it with SIGINT ignored, and Python then
    installs no handler of its own."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


@pytest.fixture
def data() -> Path:
    return DATA


@pytest.fixture(scope="session")
def cql_session():
    """A Python-driver session on the test node, for set-up and clean-up."""
    from cassandra.cluster import Cluster

    host, port = cql_node().rsplit(":", 1)
    cluster = Cluster([host], port=int(port))
    session = cluster.connect()
    # schema changes on a busy node take longer than the driver's 10 s default
    session.default_timeout = 120
    yield session
    cluster.shutdown()


@pytest.fixture(params=["embedded", "cql"])
def store_url(request, tmp_path):
    if request.param == "embedded":
        yield str(tmp_path / "store")
        return
    session = request.getfixturevalue("cql_session")
    keyspace = fresh_keyspace()
    yield f"cql://{cql_node()}/{keyspace}"
    # hundreds of test tables would crowd a small test node's heap
    session.execute(f"DROP KEYSPACE IF EXISTS {keyspace}")


@pytest.fixture
def store(store_url, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with barstore.connect(store_url) as s:
        yield s
