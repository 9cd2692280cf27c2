"""Corporate actions from Python: load them, list them, read raw series adjusted as of a
date or a version, on both stores."""

import numpy as np
import pandas as pd
import pytest

import barstore

RAW = """2024-03-01 15:59:00,200,201,199,200,1000
2024-03-04 09:30:00,100,101,99,100,2000
2024-03-04 15:59:00,100,100.5,99.5,100,2000
2024-03-05 09:30:00,99,99.5,98.5,99,3000
"""


@pytest.fixture
def loaded(store, tmp_path):
    path = tmp_path / "ABC_full_1min_UNADJUSTED.txt"
    path.write_text(RAW)
    store.load(path, progress=False)
    (tmp_path / "a.csv").write_text(
        "symbol,ex_date,split_from,split_to,dividend\n"
        "ABC,2024-03-04,1,2,\n"
        "ABC,2024-03-05,,,1\n"
        "ABC,2024-03-09,,,1\n")
    return store, tmp_path


def test_load_and_list_actions(loaded):
    store, tmp = loaded
    report = store.load_actions(tmp / "a.csv")
    assert (report.rows, report.added, report.changed, report.unchanged) == (3, 2, 0, 0)
    assert report.rejected == [(4, "ex_date 2024-03-09 is not a trading day (the exchange is closed)")]
    again = store.load_actions(tmp / "a.csv")
    assert (again.added, again.unchanged) == (0, 2)
    df = store.actions("ABC")
    assert list(df["kind"]) == ["split", "dividend"]
    assert list(df["ex_date"]) == [pd.Timestamp("2024-03-04"), pd.Timestamp("2024-03-05")]
    assert df["split_to"].iloc[0] == 2 and np.isnan(df["split_to"].iloc[1])
    assert df["dividend"].iloc[1] == 1
    assert str(df["recorded"].dt.tz) == "UTC"


def test_adjusted_read_as_of(loaded, store_url):
    store, tmp = loaded
    store.load_actions(tmp / "a.csv")
    raw = store.read("ABC")
    split = store.read("ABC", adjust="split")
    # before the 2:1 split prices halve and volumes double; after it nothing changes
    assert split["close"].tolist() == [100.0, 100.0, 100.0, 99.0]
    assert split["volume"].tolist() == [2000.0, 2000.0, 2000.0, 3000.0]
    both = store.read("ABC", adjust="split+div")
    # the dividend of 1 against the close of 100 before it: x0.99 before 2024-03-05
    assert both["close"].tolist() == pytest.approx([99.0, 99.0, 99.0, 99.0], rel=1e-12)
    # resampled after adjusting: the day's bar of 2024-03-01 is the adjusted minute
    daily = store.read("ABC", adjust="split", resample="1d")
    assert daily["close"].iloc[0] == 100.0
    arrow = store.read_arrow("ABC", adjust="split")
    assert arrow.column("close").to_pylist() == split["close"].tolist()
    with pytest.raises(barstore.InputError, match="use split or split\\+div"):
        store.read("ABC", adjust="dividends")
    now = pd.Timestamp.now(tz="UTC")
    pd.testing.assert_frame_equal(store.read("ABC", adjust="split+div", as_of=now), both)
    # a date takes the actions with an ex-date up to it, so as of the split's ex-date
    # the dividend is not known yet; on the embedded store, whose first version is
    # later, over the bars as they are (CQL keeps no versions of bars)
    then = store.read("ABC", adjust="split+div", as_of="2024-03-04")
    pd.testing.assert_frame_equal(then, split)
    before = store.read("ABC", adjust="split+div", as_of=pd.Timestamp("2024-03-01"))
    pd.testing.assert_frame_equal(before, raw)
    if store_url.startswith("cql://"):
        with pytest.raises(barstore.StoreError, match="keeps no versions of its bars"):
            store.read("ABC", as_of=1)
        return
    # the version of the bars' load: the actions, loaded after it, were not known then
    loaded_at = int(store.history()["version"].max())
    pd.testing.assert_frame_equal(store.read("ABC", adjust="split+div", as_of=loaded_at),
                                  raw)
