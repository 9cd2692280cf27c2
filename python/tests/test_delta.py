"""The embedded store is a Delta Lake table: other engines (deltalake, polars) read
exactly barstore's bars, at the latest version and at older ones, and barstore reads
those versions by number, time or snapshot name."""

import datetime

import pandas as pd
import pandas.testing as pdt
import polars as pl
import pytest
from deltalake import DeltaTable

import barstore
from conftest import cql_node, fresh_keyspace

COLUMNS = ["open", "high", "low", "close", "volume"]
CORRECTED_DAY = "2024-05-02"


@pytest.fixture
def loaded(tmp_path, data):
    """An embedded store holding AAPL (New York) and DBB (UTC), and its table."""
    store = barstore.connect(tmp_path / "store")
    store.load(data / "AAPL_1min_sample_headerless.txt", progress=False)
    store.load(data / "DBB_1min_2023-07-10_to_2025-07-08.csv", tz="UTC", progress=False)
    yield store, str(tmp_path / "store" / "bars")
    store.close()


def correction(tmp_path, data):
    """A corrected AAPL file: one day of the sample with every close a cent higher."""
    day = [line for line in (data / "AAPL_1min_sample_headerless.txt").read_text().splitlines()
           if line.startswith(CORRECTED_DAY)]
    fixed = []
    for line in day:
        t, o, h, low, c, v = line.split(",")
        c = f"{float(c) + 0.01:.2f}"
        fixed.append(",".join([t, o, str(max(float(h), float(c))), low, c, v]))
    path = tmp_path / "AAPL_1min_corrected.txt"
    path.write_text("\n".join(fixed) + "\n")
    return path, len(fixed)


def by_symbol(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """An engine's rows as barstore reads each symbol with ``tz="UTC"``."""
    frame = frame.assign(timestamp=pd.DatetimeIndex(frame["timestamp"]).tz_convert("UTC")
                         .as_unit("ns"))
    return {symbol: part.set_index("timestamp").sort_index()[COLUMNS]
            for symbol, part in frame.groupby("symbol")}


def engines(table: str, version: int | None = None) -> dict[str, dict[str, pd.DataFrame]]:
    """The table as deltalake and polars read it (at ``version``, else the latest)."""
    delta = DeltaTable(table) if version is None else DeltaTable(table, version=version)
    return {"deltalake": by_symbol(delta.to_pandas()),
            "polars": by_symbol(pl.read_delta(table, version=version).to_pandas())}


def barstore_bars(store, **read) -> dict[str, pd.DataFrame]:
    symbols = sorted(store.symbols()["symbol"])
    return {s: store.read(s, tz="UTC", **read) for s in symbols}


def assert_same(got: dict[str, pd.DataFrame], want: dict[str, pd.DataFrame]) -> None:
    assert sorted(got) == sorted(want)
    for symbol, frame in want.items():
        assert len(got[symbol]) == len(frame), symbol
        pdt.assert_frame_equal(got[symbol], frame, check_freq=False, obj=symbol)


def test_engines_read_exactly_the_bars(loaded):
    store, table = loaded
    want = barstore_bars(store)
    assert {s: len(f) for s, f in want.items()} == {"AAPL": 8507, "DBB": 38964}
    for name, got in engines(table).items():
        assert_same(got, want)
    frame = DeltaTable(table).to_pandas()
    assert set(frame["timeframe"]) == {"1min"} and set(frame["adjustment"]) == {"none"}
    assert str(frame["timestamp"].dt.tz) == "UTC"


def test_older_versions_read_as_they_were(loaded, tmp_path, data):
    store, table = loaded
    before = int(store.history(limit=1)["version"].iloc[0])
    old = barstore_bars(store)
    # a stream reads the version it started on, whatever commits while it is read
    stream = store.read_batches(["AAPL", "DBB"], tz="UTC")
    path, rows = correction(tmp_path, data)
    report = store.load(path, progress=False)
    streamed = stream.read_all().to_pandas(coerce_temporal_nanoseconds=True)
    assert_same(by_symbol(streamed), old)
    assert (report.loaded, report.rows, report.rejected) == (1, rows, 0)
    history = store.history()
    latest = int(history["version"].iloc[0])
    assert latest == before + 1 and history["operation"].iloc[0] == "load"
    # the correction merged the year into a new file, replacing the old one
    assert history["files_replaced"].iloc[0] >= 1

    new = barstore_bars(store)
    changed = new["AAPL"].index.strftime("%Y-%m-%d") == CORRECTED_DAY
    # the sample's day is New York time; 04:00 to 20:00 there is one UTC day too
    assert changed.sum() == rows
    assert (new["AAPL"]["close"][changed] != old["AAPL"]["close"][changed]).all()
    pdt.assert_frame_equal(new["AAPL"][~changed], old["AAPL"][~changed])
    for got in engines(table).values():
        assert_same(got, new)
    for got in engines(table, version=before).values():
        assert_same(got, old)

    assert_same(barstore_bars(store, as_of=before), old)
    committed = history.set_index("version")["time"]
    assert_same(barstore_bars(store, as_of=committed[before]), old)
    assert_same(barstore_bars(store, as_of=committed[latest]), new)
    assert_same(barstore_bars(store, as_of=datetime.datetime.now(datetime.timezone.utc)
                              .date()), new)
    arrow = store.read_arrow("AAPL", as_of=before)
    assert arrow.column("close").to_pylist() == old["AAPL"]["close"].tolist()
    streamed = store.read_batches(["AAPL"], as_of=before).read_all()
    assert streamed.column("close").to_pylist() == old["AAPL"]["close"].tolist()
    with pytest.raises(barstore.StoreError, match=f"there is no version {latest + 1}: "
                                                  f"the versions are 0 to {latest}"):
        store.read("AAPL", as_of=latest + 1)


def test_a_snapshot_reads_the_bars_it_named(loaded, tmp_path, data):
    store, table = loaded
    version = int(store.history(limit=1)["version"].iloc[0])
    assert store.snapshot("before-fix") == version
    assert store.snapshot("first", as_of=0) == 0
    old = barstore_bars(store)
    store.load(correction(tmp_path, data)[0], progress=False)
    listed = store.snapshots()
    assert listed["name"].tolist() == ["before-fix", "first"]
    assert listed["version"].tolist() == [version, 0]
    assert str(listed["created"].dt.tz) == "UTC"
    pinned = store.history().set_index("version")["snapshots"]
    assert pinned[version] == ["before-fix"] and pinned[version + 1] == []

    assert_same(barstore_bars(store, as_of="before-fix"), old)
    with pytest.raises(barstore.OptionError, match="pins version"):
        store.snapshot("before-fix")
    store.delete_snapshot("before-fix")
    assert store.snapshots()["name"].tolist() == ["first"]
    with pytest.raises(barstore.StoreError, match="there is no snapshot named before-fix"):
        store.read("AAPL", as_of="before-fix")
    with pytest.raises(barstore.StoreError, match="there is no snapshot named before-fix"):
        store.delete_snapshot("before-fix")
    # the version itself stays readable by number
    assert_same(barstore_bars(store, as_of=version), old)


def test_a_numeric_symbol_stays_a_string(tmp_path, data):
    lines = (data / "AAPL_1min_sample_headerless.txt").read_text().splitlines()[:100]
    path = tmp_path / "0005_full_1min_adjsplit.txt"
    path.write_text("\n".join(lines) + "\n")
    with barstore.connect(tmp_path / "store") as store:
        store.load(path, tz="Asia/Hong_Kong", progress=False)
        want = barstore_bars(store)
    assert list(want) == ["0005"] and len(want["0005"]) == 100
    table = str(tmp_path / "store" / "bars")
    for got in engines(table).values():
        assert_same(got, want)
    assert DeltaTable(table).to_pandas()["symbol"].tolist() == ["0005"] * 100
    assert pl.read_delta(table)["symbol"].to_list() == ["0005"] * 100
    assert len(DeltaTable(table).file_uris(file_pruning_predicate=[("symbol", "=", "0005")])) == 1


def test_as_of_takes_versions_names_dates_and_aware_times(loaded):
    store, _ = loaded
    latest = barstore_bars(store)
    assert_same(barstore_bars(store, as_of=pd.Timestamp.now(tz="America/New_York")), latest)
    assert_same(barstore_bars(store, as_of=str(int(store.history()["version"].max()))),
                latest)
    # before the first version: the bars as they are (corporate actions as known then)
    assert_same(barstore_bars(store, as_of=pd.Timestamp("2020-01-01")), latest)
    assert_same(barstore_bars(store, as_of=datetime.datetime(
        2020, 1, 1, 10, 30, tzinfo=datetime.timezone(datetime.timedelta(hours=-5)))), latest)
    with pytest.raises(barstore.OptionError, match="a time of day needs its zone"):
        store.read("AAPL", as_of=pd.Timestamp("2024-05-01 12:00"))
    with pytest.raises(barstore.OptionError, match="give a version number"):
        store.read("AAPL", as_of=1.5)
    with pytest.raises(barstore.OptionError, match="give a version number"):
        store.read("AAPL", as_of="-1")


def test_a_cql_store_has_no_versions():
    with barstore.connect(f"cql://{cql_node()}/{fresh_keyspace()}") as store:
        for call in (store.history, store.snapshots, lambda: store.snapshot("x"),
                     lambda: store.delete_snapshot("x")):
            with pytest.raises(barstore.StoreError,
                               match="works on the embedded store: a CQL keyspace keeps "
                                     "no versions of its bars"):
                call()
