"""Errors surface as barstore.Error subclasses with the library's messages."""

from concurrent.futures import ThreadPoolExecutor

import pytest

import barstore
from conftest import cql_node, fresh_keyspace


def test_classes():
    for cls in (barstore.InputError, barstore.ConnectionError, barstore.SchemaError,
                barstore.OptionError, barstore.OpenError, barstore.FileError,
                barstore.ReadError, barstore.StoreError):
        assert issubclass(cls, barstore.Error)
    assert issubclass(barstore.Error, Exception)


def test_a_class_per_error_type_and_the_kind_it_is(store, data, tmp_path):
    with pytest.raises(barstore.OptionError, match="invalid timeframe") as e:
        store.read("AAPL", resample="7min")
    assert isinstance(e.value, barstore.InputError)
    store.load(data / "AAPL_1min_sample_headerless.txt", progress=False)
    with pytest.raises(barstore.ReadError, match='symbol "MSFT" is not in the store') as e:
        store.read("MSFT")
    assert isinstance(e.value, barstore.InputError)
    with pytest.raises(barstore.OpenError) as e:
        barstore.connect("cql://127.0.0.1:1/ks", attempts=1)
    assert isinstance(e.value, barstore.ConnectionError) and e.value.retryable
    with pytest.raises(barstore.OpenError, match="invalid store URL") as e:
        barstore.connect("cql://127.0.0.1:1")
    assert isinstance(e.value, barstore.InputError)
    with pytest.raises(barstore.OptionError, match="invalid keyspace name"):
        barstore.connect("cql://127.0.0.1:1/ks;DROP")


def test_two_writers_of_one_store_both_commit(tmp_path, data):
    """Two stores open on one directory load different symbols at the same time (a load
    releases the GIL): both commit, and each store, and a new one, reads both."""
    files = {"AAPL": (data / "AAPL_1min_sample_headerless.txt", "America/New_York"),
             "DBB": (data / "DBB_1min_2023-07-10_to_2025-07-08.csv", "UTC")}
    with barstore.connect(tmp_path / "s") as first, barstore.connect(tmp_path / "s") as second:
        writers = dict(zip(files, (first, second)))
        with ThreadPoolExecutor(2) as pool:
            running = {sym: pool.submit(writers[sym].load, path, tz=tz, progress=False)
                       for sym, (path, tz) in files.items()}
            reports = {sym: job.result() for sym, job in running.items()}
        for sym, report in reports.items():
            assert (report.loaded, report.failed, report.rejected) == (1, [], 0), sym
        rows = {sym: r.rows for sym, r in reports.items()}
        for s in (first, second):
            assert s.symbols().set_index("symbol")["rows"].to_dict() == rows
            assert {sym: len(s.read(sym)) for sym in files} == rows
    with barstore.connect(tmp_path / "s") as again:
        assert {sym: len(again.read(sym)) for sym in files} == rows


def test_input_errors(store, data):
    with pytest.raises(barstore.InputError, match=r'invalid symbol "\.\./etc"'):
        store.read("../etc")
    with pytest.raises(barstore.InputError, match="invalid time zone"):
        store.load(data / "AAPL_1min_sample_headerless.txt", tz="Mars/Base", progress=False)
    with pytest.raises(barstore.InputError, match="invalid timeframe"):
        store.read("AAPL", resample="7min")
    with pytest.raises(barstore.InputError, match="invalid format"):
        store.load(data, format="datetime,open", progress=False)


def test_unrecognised_files_are_reported_not_raised(store, tmp_path):
    bad = tmp_path / "JUNK.csv"
    bad.write_text("hello,world\nnot,bars\n")
    report = store.load(bad, progress=False)
    assert report.loaded == 0 and len(report.failed) == 1
    assert "cannot recognise the layout" in report.failed[0][1]


def test_unknown_symbol(store, data):
    store.load(data / "AAPL_1min_sample_headerless.txt", progress=False)
    with pytest.raises(barstore.InputError, match='symbol "MSFT" is not in the store'):
        store.read("MSFT")


def test_connection_error():
    with pytest.raises(barstore.ConnectionError, match="cannot connect to 127.0.0.1:1") as e:
        barstore.connect("cql://127.0.0.1:1/ks", attempts=1)
    assert e.value.retryable is True


def test_retryable_only_when_a_later_attempt_may_succeed(store, data):
    with pytest.raises(barstore.InputError) as e:
        store.read("../etc")
    assert e.value.retryable is False
    with pytest.raises(barstore.InputError, match="no symbols given") as e:
        store.read([])
    assert e.value.retryable is False


def test_replicas_out_of_reach_are_retryable(data):
    ks = fresh_keyspace()
    with barstore.connect(f"cql://{cql_node()}/{ks}") as s:
        s.load(data / "AAPL_1min_sample_headerless.txt", progress=False)
    # one node cannot give two replicas: "unavailable", which passes once nodes return
    with barstore.connect(f"cql://{cql_node()}/{ks}", consistency="TWO", attempts=1) as s:
        with pytest.raises(barstore.ConnectionError, match="unavailable: TWO needs 2") as e:
            s.read("AAPL")
    assert e.value.retryable is True


def test_schema_error_for_missing_tables():
    with barstore.connect(f"cql://{cql_node()}/{fresh_keyspace()}") as s:
        with pytest.raises(barstore.SchemaError, match="load data first"):
            s.read("AAPL")


def test_hostile_names():
    with pytest.raises(barstore.Error, match="invalid keyspace name"):
        barstore.connect(f"cql://{cql_node()}/ks;DROP")
    with pytest.raises(barstore.Error, match="invalid table name"):
        barstore.connect(f"cql://{cql_node()}/ks?table=t'x")


def test_client_certificate_options_are_checked_before_connecting(tmp_path):
    missing = tmp_path / "client.pem"
    with pytest.raises(barstore.InputError, match=f"cannot use {missing} as a client certificate"):
        barstore.connect(f"cql://{cql_node()}/ks", tls_cert=missing, tls_key=tmp_path / "k.pem")
    with pytest.raises(barstore.InputError, match="needs both the certificate file and its key"):
        barstore.connect(f"cql://{cql_node()}/ks", tls_cert=missing)
