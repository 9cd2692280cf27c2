"""A notebook session, start to end, plus Ctrl-C in the middle of a load."""

import os
import signal
import threading

import numpy as np
import pandas as pd
import pytest

import barstore


def test_notebook_session(tmp_path, data, monkeypatch):
    monkeypatch.chdir(tmp_path)
    store = barstore.connect()
    assert store.location == "barstore-data"
    monkeypatch.setenv("HOME", str(data))
    report = store.load(["~/AAPL_1min_sample_headerless.txt"], progress=False)
    assert report.rows == 8507 and report.error_log is None
    df = store.read("AAPL", "2024-05-01", "2024-05-03", session="regular")
    daily = store.read("AAPL", resample="1d")
    assert len(df) == 3 * 390 and len(daily) == 11
    closes = store.read("AAPL", "2024-05-01", "2024-05-03", session="regular", resample="1d")
    by_day = df.groupby(df.index.normalize())["close"].last()
    assert closes["close"].tolist() == by_day.tolist()
    assert store.symbols()["rows"].tolist() == [8507]
    store.close()


def write_bars(path, rows, seed):
    rng = np.random.default_rng(seed)
    minutes = pd.date_range("2016-01-04 04:00", periods=rows, freq="min")
    close = 100 + np.cumsum(rng.normal(0, 0.05, rows))
    frame = pd.DataFrame({"open": close.round(2), "high": (close + 0.1).round(2),
                          "low": (close - 0.1).round(2), "close": close.round(2),
                          "volume": rng.integers(100, 10_000, rows)}, index=minutes)
    frame.to_csv(path, header=False, date_format="%Y-%m-%d %H:%M:%S")


def test_ctrl_c_stops_a_load_and_a_rerun_resumes(tmp_path, ctrl_c):
    src = tmp_path / "in"
    src.mkdir()
    for i, sym in enumerate(["AAA", "BBB", "CCC", "DDD"]):
        write_bars(src / f"{sym}_full_1min_adjsplit.txt", 700_000, i)
    store = barstore.connect(tmp_path / "store")
    timer = threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        store.load(src, tz="UTC", progress=True, jobs=1)
    timer.join()
    report = store.load(src, tz="UTC", progress=False)
    assert report.failed == [] and report.loaded + report.skipped == 4
    assert report.loaded >= 1
    assert store.verify(src, tz="UTC").identical
    assert store.symbols()["rows"].tolist() == [700_000] * 4
