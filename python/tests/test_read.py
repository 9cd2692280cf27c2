"""Reads: resampling against pandas, sessions, MultiIndex, zones, Arrow without copies."""

import pandas as pd
import pandas.testing as pdt
import pyarrow as pa
import pytest

AGG = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}


@pytest.fixture
def aapl(store, data):
    store.load(data / "AAPL_1min_sample_headerless.txt", progress=False)
    return store


@pytest.mark.parametrize("rule", ["5min", "15min", "1h", "1d"])
def test_resample_equals_pandas(aapl, rule):
    minutes = aapl.read("AAPL")
    # pandas emits empty bins (volume 0, prices NaN); barstore leaves them out
    want = minutes.resample(rule.replace("1d", "1D")).agg(AGG).dropna(subset=["open"])
    got = aapl.read("AAPL", resample=rule)
    pdt.assert_frame_equal(got, want, check_freq=False)


def test_regular_session_and_ranges(aapl):
    df = aapl.read("AAPL", "2024-05-01", "2024-05-02", session="regular")
    assert len(df) == 2 * 390
    t = df.index
    assert ((t.hour * 60 + t.minute >= 570) & (t.hour * 60 + t.minute < 960)).all()
    assert t[0] == pd.Timestamp("2024-05-01 09:30") and t[-1] == pd.Timestamp("2024-05-02 15:59")
    full = aapl.read("AAPL")
    pdt.assert_frame_equal(df, full.loc["2024-05-01":"2024-05-02"].between_time("09:30", "15:59"))
    sliced = aapl.read("AAPL", pd.Timestamp("2024-05-01 09:30"), "2024-05-01 09:34:00")
    assert len(sliced) == 5


def test_rounding_and_columns(aapl):
    df = aapl.read("AAPL", round=1, columns=["close", "volume"])
    assert list(df.columns) == ["close", "volume"]
    pdt.assert_frame_equal(df, aapl.read("AAPL")[["close", "volume"]].round(1))


def test_many_symbols_give_a_multiindex(store, data):
    store.load(data / "AAPL_1min_sample_headerless.txt", progress=False)
    store.load(data / "DBB_1min_2023-07-10_to_2025-07-08.csv", tz="UTC", progress=False)
    df = store.read(["AAPL", "DBB"], "2024-05-01", "2024-05-01")
    assert df.index.names == ["symbol", "timestamp"]
    pdt.assert_frame_equal(df.loc["AAPL"], store.read("AAPL", "2024-05-01", "2024-05-01"))
    pdt.assert_frame_equal(df.loc["DBB"], store.read("DBB", "2024-05-01", "2024-05-01"))


def test_tz_gives_aware_timestamps(aapl):
    naive = aapl.read("AAPL")
    utc = aapl.read("AAPL", tz="UTC")
    assert str(utc.index.tz) == "UTC"
    expected = naive.index.tz_localize("America/New_York").tz_convert("UTC")
    assert (utc.index == expected).all()


def test_read_arrow_is_zero_copy(aapl):
    before = pa.total_allocated_bytes()
    table = aapl.read_arrow("AAPL")
    assert table.num_rows == 8507
    assert table.column_names == ["timestamp", "open", "high", "low", "close", "volume"]
    assert table.nbytes >= 8507 * 6 * 8
    # no byte of it came from pyarrow's allocator: the buffers are Rust's
    assert pa.total_allocated_bytes() == before
    assert table.schema.field("timestamp").type == pa.timestamp("ms")


def test_symbols_frame(aapl):
    df = aapl.symbols()
    assert df.to_dict("records") == [{
        "symbol": "AAPL", "timeframe": "1min", "adjustment": "none", "rows": 8507,
        "first": pd.Timestamp("2024-04-29 04:00"), "last": pd.Timestamp("2024-05-13 19:50"),
        "tz": "America/New_York",
    }]
