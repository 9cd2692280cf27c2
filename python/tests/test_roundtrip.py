"""Every real sample file loads and reads back exactly as pandas.read_csv sees it."""

import pandas as pd
import pandas.testing as pdt
import pytest

COLS = ["open", "high", "low", "close", "volume"]


def expected(path, *, header, split=False):
    if split:
        raw = pd.read_csv(path, header=None, skiprows=1 if header else 0,
                          names=["date", "time", *COLS, "oi"], dtype={"date": str, "time": str})
        ts = pd.to_datetime(raw["date"] + " " + raw["time"])
    else:
        raw = pd.read_csv(path, header=0 if header else None,
                          names=None if header else ["timestamp", *COLS])
        ts = pd.to_datetime(raw["timestamp"])
    df = raw[COLS].astype("float64")
    df.index = pd.DatetimeIndex(ts, name="timestamp").as_unit("ns")
    return df.sort_index()


CASES = [
    ("AAPL_1min_sample_headerless.txt", "AAPL", "America/New_York", dict(header=False)),
    ("AAPL_1min_sample.csv", "AAPL", "America/New_York", dict(header=True)),
    ("AAPL_5min_sample.csv", "AAPL", "America/New_York", dict(header=True)),
    ("DBB_1min_2023-07-10_to_2025-07-08.csv", "DBB", "UTC", dict(header=True)),
    ("2006-min-005.txt", "2006-min-005", "Europe/Berlin", dict(header=True, split=True)),
    ("2006-01-02-volume-min-001.txt", "2006-01-02-volume-min-001", "Europe/Berlin",
     dict(header=True, split=True)),
]


@pytest.mark.parametrize("name,symbol,tz,how", CASES, ids=[c[0] for c in CASES])
def test_real_file_round_trips_exactly(store, data, name, symbol, tz, how):
    report = store.load(data / name, tz=tz, progress=False)
    assert (report.loaded, report.rejected, report.failed) == (1, 0, [])
    got = store.read(symbol)
    want = expected(data / name, **how)
    pdt.assert_frame_equal(got, want)
    assert report.rows == len(want)
    assert store.verify(data / name, tz=tz).identical
