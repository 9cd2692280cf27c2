"""A market, not a symbol: 240 generated series with missing and extra days, read many
at a time (long, wide, streamed), updated day by day, on every store."""

import os
import warnings

import duckdb
import numpy as np
import pandas as pd
import pandas.testing as pdt
import pyarrow as pa
import pytest
from deltalake import DeltaTable

import barstore

DAYS = pd.bdate_range("2024-03-04", "2024-03-15")  # ten weekdays, no US holiday
BARS_A_DAY = 60
SYMBOLS = [f"S{i:03d}" for i in range(240)]


def day_frame(symbol: str, day: pd.Timestamp) -> pd.DataFrame:
    """One day of a symbol's bars from 09:30, deterministic, prices in cents."""
    rng = np.random.default_rng([int(symbol[1:]), day.day_of_year])
    n = BARS_A_DAY - rng.integers(0, 5)  # a few bars missing at the end of some days
    close = 100 + rng.integers(-500, 500, n).cumsum() / 100
    openp = np.round(close + rng.integers(-20, 20, n) / 100, 2)
    high = np.round(np.maximum(openp, close) + rng.integers(0, 30, n) / 100, 2)
    low = np.round(np.minimum(openp, close) - rng.integers(0, 30, n) / 100, 2)
    ts = day + pd.Timedelta(hours=9, minutes=30) + pd.to_timedelta(np.arange(n), unit="min")
    return pd.DataFrame({"timestamp": ts.astype("datetime64[ns]"), "open": openp, "high": high, "low": low,
                         "close": np.round(close, 2),
                         "volume": rng.integers(1, 10_000, n).astype(float)})


def days_of(symbol: str) -> list[pd.Timestamp]:
    """Each symbol misses some days; the first ten start late (extra days for others)."""
    i = int(symbol[1:])
    days = [d for j, d in enumerate(DAYS) if (i + j) % 7 != 3]
    return days[3:] if i < 10 else days


def write(path, frame: pd.DataFrame) -> None:
    with open(path, "w") as f:
        for r in frame.itertuples(index=False):
            f.write(f"{r.timestamp:%Y-%m-%d %H:%M:%S},{r.open!r},{r.high!r},{r.low!r},"
                    f"{r.close!r},{int(r.volume)}\n")


@pytest.fixture
def universe(store, tmp_path):
    """The store loaded with every symbol's days but the last; the source frames (all
    days) and a directory with each symbol's last day, for the daily update."""
    history, update = tmp_path / "history", tmp_path / "update"
    history.mkdir()
    update.mkdir()
    frames = {}
    for s in SYMBOLS:
        days = days_of(s)
        frames[s] = pd.concat([day_frame(s, d) for d in days], ignore_index=True)
        last = frames[s]["timestamp"].dt.normalize() == days[-1]
        write(history / f"{s}_full_1min_adjsplit.txt", frames[s][~last])
        write(update / f"{s}_full_1min_adjsplit.txt", frames[s][last])
    report = store.load(history, progress=False)
    assert report.failed == [] and report.rejected == 0
    return store, frames, update


def expected_long(frames, symbols, start, end) -> pd.DataFrame:
    parts = {}
    for s in symbols:
        f = frames[s].set_index("timestamp")
        parts[s] = f.loc[start:end]
    return pd.concat(parts, names=["symbol", "timestamp"])


def test_long_and_wide_reads_equal_the_sources(universe):
    store, frames, update = universe
    store.load(update, progress=False)
    start, end = pd.Timestamp("2024-03-06"), pd.Timestamp("2024-03-12 23:59:59")
    wanted = SYMBOLS[::3]
    got = store.read(list(reversed(wanted)), "2024-03-06", "2024-03-12")
    want = expected_long(frames, wanted, start, end)
    assert got.index.names == ["symbol", "timestamp"]
    assert list(got.index.get_level_values("symbol").unique()) == wanted  # sorted
    pdt.assert_frame_equal(got, want, check_index_type=False, check_categorical=False)
    # each symbol's rows are its single read
    pdt.assert_frame_equal(got.loc["S003"], store.read("S003", "2024-03-06", "2024-03-12"))
    # a frame of its own, which pandas 2 too can write into
    got.iloc[0, 0] = -1.0
    got["close"] *= 2
    assert got.iloc[0, 0] == -1.0

    every = store.read(None, "2024-03-06", "2024-03-06")
    assert sorted(every.index.get_level_values("symbol").unique()) == [
        s for s in SYMBOLS if pd.Timestamp("2024-03-06") in days_of(s)]
    pdt.assert_frame_equal(store.read("*", "2024-03-06", "2024-03-06"), every)

    wide = store.read(wanted, "2024-03-06", "2024-03-12", pivot="close")
    assert list(wide.columns) == wanted and wide.columns.name == "symbol"
    want_wide = want["close"].unstack("symbol")
    pdt.assert_frame_equal(wide, want_wide[wanted].rename_axis(None, axis=1)
                           .rename_axis("symbol", axis=1), check_freq=False)
    assert wide.isna().any().any()  # missing days and bars are NaN, never dropped rows


def test_resample_and_session_apply_per_symbol(universe):
    store, frames, _ = universe
    got = store.read(["S001", "S002"], resample="15min", session="regular")
    for s in ["S001", "S002"]:
        pdt.assert_frame_equal(got.loc[s], store.read(s, resample="15min", session="regular"))
    arrow = store.read_arrow(["S002", "S001"], "2024-03-12", "2024-03-12")
    assert arrow.schema.field("symbol").type == pa.dictionary(pa.int32(), pa.string())
    assert arrow.column("symbol").to_pylist()[0] == "S001"


def test_unknown_symbols_are_named_or_skipped(universe):
    store, _, _ = universe
    with pytest.raises(barstore.InputError, match=r"not in the store: NOPE, ZZZ \(2 of"):
        store.read(["S001", "ZZZ", "NOPE"])
    with pytest.warns(UserWarning, match="skipped 2 symbols not in the store: NOPE, ZZZ"):
        df = store.read(["S001", "ZZZ", "NOPE"], missing="skip")
    assert list(df.index.get_level_values("symbol").unique()) == ["S001"]
    with pytest.raises(barstore.InputError, match="pivot"):
        store.read(["S001"], pivot="vwap")
    with pytest.raises(barstore.InputError, match="symbol"):
        store.read(["S001", "../x"])


def test_batches_stream_the_long_table(universe):
    store, frames, _ = universe
    reader = store.read_batches(None, "2024-03-04", "2024-03-14")
    assert isinstance(reader, pa.RecordBatchReader)
    sizes, batches = [], []
    for batch in reader:
        sizes.append(len(set(batch.column(0).to_pylist())))
        batches.append(batch)
    # a group of symbols a batch (2 per core embedded, 64 on CQL), never all 240 at once
    assert len(batches) >= 3 and max(sizes) <= 64
    streamed = pa.Table.from_batches(batches).to_pandas(coerce_temporal_nanoseconds=True)
    streamed["symbol"] = streamed["symbol"].astype(object)  # read's level holds strings
    streamed = streamed.set_index(["symbol", "timestamp"])
    pdt.assert_frame_equal(streamed, store.read(None, "2024-03-04", "2024-03-14"),
                           check_categorical=False)


def test_daily_update_appends_and_other_tools_see_each_bar_once(universe, store_url):
    store, frames, update = universe
    report = store.load(update, progress=False)
    assert report.loaded == len(SYMBOLS) and report.rejected == 0
    got = store.read(SYMBOLS)
    pdt.assert_frame_equal(got, expected_long(frames, SYMBOLS, None, None),
                           check_categorical=False, check_index_type=False)
    listed = store.symbols().set_index("symbol")
    assert listed.loc["S001", "rows"] == len(frames["S001"])
    if store_url.startswith("cql://"):
        return
    # the update went to a part of its own beside the year's file; compact merges them
    # into one, and Delta readers see each bar once, before and after
    table_dir = f"{store_url}/bars"
    year = [("symbol", "=", "S001"), ("timeframe", "=", "1min"),
            ("adjustment", "=", "adjsplit"), ("year", "=", "2024")]

    def year_files() -> list[str]:
        return DeltaTable(table_dir).file_uris(file_pruning_predicate=year)

    def bars_once() -> None:
        bars = DeltaTable(table_dir).to_pyarrow_dataset()
        n, distinct = duckdb.sql(
            "SELECT count(*), count(DISTINCT (symbol, timestamp)) FROM bars").fetchall()[0]
        assert n == distinct == sum(len(f) for f in frames.values())

    appended = year_files()
    assert len(appended) == 2, appended
    bars_once()
    assert store.compact() == len(SYMBOLS)
    merged = year_files()
    assert len(merged) == 1 and merged[0] not in appended, (appended, merged)
    # the version before keeps its files (until a vacuum) for reads as of it
    assert all(os.path.exists(f) for f in appended)
    bars_once()
    pdt.assert_frame_equal(store.read(SYMBOLS), got)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert barstore.connect(store_url).read("S001").shape[0] == len(frames["S001"])
