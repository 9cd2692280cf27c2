"""Series: every timeframe and adjustment of a FirstRate-style download reads back apart
and exactly, on both stores."""

import io
import zipfile

import pandas as pd
import pandas.testing as pdt
import pytest

import barstore

COLS = ["open", "high", "low", "close", "volume"]


def frame(text, date_only=False):
    """A vendor file's bars as ``read`` returns them."""
    raw = pd.read_csv(io.StringIO(text), header=None, names=["timestamp", *COLS])
    ts = pd.to_datetime(raw["timestamp"], format="%Y-%m-%d" if date_only else None)
    df = raw[COLS].astype("float64")
    df.index = pd.DatetimeIndex(ts, name="timestamp").as_unit("ns")
    return df


@pytest.fixture
def download(store, data):
    report = store.load(data / "firstrate", progress=False)
    assert (report.files, report.loaded, report.failed) == (5, 5, [])
    return data / "firstrate"


def test_every_series_reads_back_apart_and_exactly(store, download):
    listed = store.symbols()[["symbol", "timeframe", "adjustment", "rows"]]
    assert listed.to_dict("records") == [
        {"symbol": "AAPL", "timeframe": tf, "adjustment": adj, "rows": n}
        for tf, adj, n in [("1min", "adjsplit", 8507), ("1min", "unadjusted", 2337),
                           ("5min", "adjsplit", 2046), ("1h", "adjsplit", 176),
                           ("1d", "adjsplit", 11)]
    ]
    with zipfile.ZipFile(download / "stock_A_full_adjsplit_hour_day.zip") as z:
        hourly = z.read("AAPL_full_1hour_adjsplit.txt").decode()
        daily = z.read("AAPL_full_1day_adjsplit.txt").decode()
    for tf, adj, want in [
        ("1min", "adjsplit", frame((download / "AAPL_full_1min_adjsplit.txt").read_text())),
        ("1min", "unadjusted", frame((download / "AAPL_full_1min_UNADJUSTED.txt").read_text())),
        ("5min", "adjsplit", frame((download / "AAPL_full_5min_adjsplit.txt").read_text())),
        ("1h", "adjsplit", frame(hourly)),
        ("1d", "adjsplit", frame(daily, date_only=True)),
    ]:
        pdt.assert_frame_equal(store.read("AAPL", timeframe=tf, adjustment=adj), want)
        table = store.read_arrow("AAPL", timeframe=tf, adjustment=adj)
        assert table.num_rows == len(want)
    assert store.verify(download).identical


def test_a_read_that_could_mean_two_series_says_which_exist(store, download):
    with pytest.raises(barstore.InputError,
                       match="AAPL has several 1min adjustments stored: adjsplit, unadjusted"):
        store.read("AAPL")
    with pytest.raises(barstore.InputError, match="AAPL has no 30min series; stored: 1min "):
        store.read("AAPL", timeframe="30min")
    # resampling the finest split-adjusted series gives the vendor's hourly bars
    with zipfile.ZipFile(download / "stock_A_full_adjsplit_hour_day.zip") as z:
        hourly = frame(z.read("AAPL_full_1hour_adjsplit.txt").decode())
    pdt.assert_frame_equal(store.read("AAPL", adjustment="adjsplit", resample="1h"), hourly)


def test_a_file_closer_than_its_timeframe_is_reported_and_not_stored(store, data):
    report = store.load(data / "AAPL_1min_sample_headerless.txt", timeframe="5min",
                        progress=False)
    assert report.loaded == 0
    [(file, why)] = report.failed
    assert file.endswith("AAPL_1min_sample_headerless.txt")
    assert "line 2: its bars are 1min apart" in why and "its timeframe is 5min" in why
    assert store.symbols().empty


def test_the_embedded_store_is_a_hive_dataset_of_series(tmp_path, data):
    """pyarrow and duckdb open the store as is, with the series as partition columns."""
    import duckdb
    import pyarrow.dataset as ds

    with barstore.connect(tmp_path / "store") as store:
        store.load(data / "firstrate", progress=False)
        want = store.read("AAPL", timeframe="5min", adjustment="adjsplit", tz="UTC")
    bars = ds.dataset(tmp_path / "store" / "bars", partitioning="hive")
    table = bars.to_table(filter=(ds.field("symbol") == "AAPL")
                          & (ds.field("timeframe") == "5min")
                          & (ds.field("adjustment") == "adjsplit"))
    got = table.to_pandas().set_index("timestamp").sort_index()
    assert list(got.index.tz_convert("UTC")) == list(want.index)
    assert (got["close"].to_numpy() == want["close"].to_numpy()).all()
    pattern = str(tmp_path / "store" / "bars" / "*" / "*" / "*" / "*" / "*.parquet")
    counts = duckdb.sql(
        f"SELECT timeframe, adjustment, count(*) FROM read_parquet('{pattern}', "
        "hive_partitioning = true) WHERE symbol = 'AAPL' GROUP BY ALL ORDER BY ALL").fetchall()
    assert counts == [("1d", "adjsplit", 11), ("1h", "adjsplit", 176),
                      ("1min", "adjsplit", 8507), ("1min", "unadjusted", 2337),
                      ("5min", "adjsplit", 2046)]


def kinds(df):
    """Each column's dtype, strings as "text" (object under pandas 2, str under 3)."""
    return {c: "text" if pd.api.types.is_string_dtype(t) else str(t)
            for c, t in df.dtypes.items()}


def test_listings_have_one_schema_whatever_their_rows(store, download):
    """Listings arrive as the library's tables: the same column types on every store and
    whether or not a column holds a null."""
    listed = store.symbols()
    assert kinds(listed) == {
        "symbol": "text", "timeframe": "text", "adjustment": "text", "rows": "int64",
        "first": "datetime64[ns]", "last": "datetime64[ns]", "tz": "text"}
    daily = listed.set_index("timeframe").loc["1d"]
    assert (daily["first"], daily["last"]) == (pd.Timestamp("2024-04-29"),
                                               pd.Timestamp("2024-05-13"))
    days = store.check("AAPL", "2024-05-01", "2024-05-03", timeframe="1min",
                       adjustment="adjsplit")
    assert days["date"].dtype == "datetime64[ns]"
    assert days["expected"].dtype == "Int64" and days["present"].dtype == "int64"
    hourly = store.check("AAPL", "2024-05-01", "2024-05-03", timeframe="1h")
    assert hourly["expected"].isna().all() and hourly["expected"].dtype == "Int64"
    checked = store.verify(download).series
    assert kinds(checked) == {
        "symbol": "text", "timeframe": "text", "adjustment": "text",
        "source_rows": "int64", "store_rows": "int64", "missing": "int64", "extra": "int64",
        "different": "int64"}
    assert store.actions().dtypes["recorded"] == "datetime64[ns, UTC]"
