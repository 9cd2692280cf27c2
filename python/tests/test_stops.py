"""Stopping a call from Python: a progress callback that raises, Ctrl-C while a read or
a load waits on retries; and two threads loading through one store."""

import os
import shutil
import signal
import sys
import threading
import time

import numpy as np
import pandas as pd
import pytest

import barstore
from barstore._convert import _input

from conftest import cql_node, fresh_keyspace

# Ctrl-C must end a call within about a second whatever it waits on
INTERRUPT_BOUND = 1.5


def write_bars(path, start, rows, seed, skip=None):
    """`rows` minute bars from `start` (without the minute `skip`) as a headerless file."""
    rng = np.random.default_rng(seed)
    minutes = pd.date_range(start, periods=rows, freq="min")
    if skip is not None:
        minutes = minutes[minutes != pd.Timestamp(skip)]
    close = 100 + np.cumsum(rng.normal(0, 0.05, len(minutes)))
    frame = pd.DataFrame({"open": close.round(2), "high": (close + 0.1).round(2),
                          "low": (close - 0.1).round(2), "close": close.round(2),
                          "volume": rng.integers(100, 10_000, len(minutes))}, index=minutes)
    frame.to_csv(path, header=False, date_format="%Y-%m-%d %H:%M:%S")


class Stop(Exception):
    pass


def test_a_progress_callback_that_raises_stops_the_load_before_it_returns(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    write_bars(src / "S000_1min.txt", "2024-01-02 09:30", 2_000, 0)
    symbols = [f"S{i:03d}" for i in range(120)]
    for s in symbols[1:]:
        shutil.copy(src / "S000_1min.txt", src / f"{s}_1min.txt")
    store = barstore.connect(tmp_path / "store")
    calls = []

    def progress(p):
        calls.append(p)
        raise Stop("enough")

    with pytest.raises(Stop, match="enough"):
        store._native.load([str(src)], _input(None, None, "UTC", None, None, 1),
                           progress=progress)
    # the callback stopped being called once it raised
    assert len(calls) == 1
    stored = store.symbols()
    assert len(stored) < len(symbols)
    # only whole files: a file the cancel stopped left nothing
    assert stored["rows"].tolist() == [2_000] * len(stored)
    # nothing of the load is left running: once this handle is gone no thread holds the
    # store (its write lock), so another handle can load into it at once
    store.close()
    again = barstore.connect(tmp_path / "store")
    report = again.load(src, tz="UTC", progress=False)
    assert report.failed == [] and report.loaded + report.skipped == len(symbols)
    assert report.skipped == len(stored)
    assert again.symbols()["rows"].tolist() == [2_000] * len(symbols)
    assert again.verify(src, tz="UTC").identical


def interrupt_once_blocked_in(method):
    """Starts a thread that sends SIGINT to this process once the main thread has been
    inside the native call of the barstore method `method` for two looks 50 ms apart
    (a call just starting would be caught at its next bytecode, and prove nothing); it
    returns the moment of the signal."""
    main = threading.main_thread().ident
    sent = {}

    def blocked():
        frame = sys._current_frames().get(main)
        return frame is not None and frame.f_code.co_name == method and \
            frame.f_code.co_filename.endswith(os.path.join("barstore", "__init__.py"))

    def watch():
        seen = 0
        while seen < 2:
            seen = seen + 1 if blocked() else 0
            time.sleep(0.05)
        sent["at"] = time.monotonic()
        os.kill(os.getpid(), signal.SIGINT)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread, sent


@pytest.fixture
def stored(cql_session, tmp_path, monkeypatch):
    """A CQL keyspace holding one symbol, AAA."""
    monkeypatch.chdir(tmp_path)
    keyspace = fresh_keyspace()
    url = f"cql://{cql_node()}/{keyspace}"
    src = tmp_path / "AAA_1min.txt"
    write_bars(src, "2024-01-02 09:30", 1_000, 0)
    with barstore.connect(url) as store:
        store.load(src, tz="UTC", progress=False)
    yield url
    cql_session.execute(f"DROP KEYSPACE IF EXISTS {keyspace}")


def unavailable(url):
    """The store at `url` asking two replicas of the one test node for every read and
    write: each request is refused as unavailable and retried, for about a minute."""
    return barstore.connect(url, consistency="TWO", attempts=20)


def test_ctrl_c_interrupts_a_read_waiting_on_retries(stored, ctrl_c):
    store = unavailable(stored)
    watcher, sent = interrupt_once_blocked_in("_table")
    with pytest.raises(KeyboardInterrupt):
        store.read("AAA")
    assert time.monotonic() - sent["at"] < INTERRUPT_BOUND
    watcher.join()


def test_ctrl_c_interrupts_a_many_symbol_read_waiting_on_retries(stored, ctrl_c):
    store = unavailable(stored)
    watcher, sent = interrupt_once_blocked_in("_panel")
    with pytest.raises(KeyboardInterrupt):
        store.read(["AAA"])
    assert time.monotonic() - sent["at"] < INTERRUPT_BOUND
    watcher.join()


def test_ctrl_c_interrupts_a_load_waiting_on_retries(stored, tmp_path, ctrl_c):
    src = tmp_path / "more"
    src.mkdir()
    write_bars(src / "BBB_1min.txt", "2024-01-02 09:30", 1_000, 1)
    store = unavailable(stored)
    watcher, sent = interrupt_once_blocked_in("load")
    with pytest.raises(KeyboardInterrupt):
        store.load(src, tz="UTC", progress=False)
    assert time.monotonic() - sent["at"] < INTERRUPT_BOUND
    watcher.join()
    # nothing was loaded and nothing recorded: the same load at a level the node can
    # serve loads the file
    store.close()
    with barstore.connect(stored) as store:
        assert store.symbols()["symbol"].tolist() == ["AAA"]
        report = store.load(src, tz="UTC", progress=False)
        assert (report.loaded, report.rows) == (1, 1_000)


def test_two_threads_loading_one_store_keep_the_series_counts(tmp_path, monkeypatch):
    """One thread appends a history that ends a year and fills the next (an append to
    each year), the other rewrites bars early in the first year again and again (a merge
    of that year): each write's index line must count what the series holds then."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "seed").mkdir()
    # a bar in each year, so that the history appends to both
    (tmp_path / "seed" / "X_1min.txt").write_text(
        "2016-01-04 09:30:00,1,1,1,1,1\n2017-01-01 00:00:00,1,1,1,1,1\n")
    (tmp_path / "history").mkdir()
    history = 300_000
    write_bars(tmp_path / "history" / "X_1min.txt", "2016-12-31 00:00", history + 1, 1,
               skip="2017-01-01 00:00")
    fixes = 8
    for k in range(fixes):
        (tmp_path / f"fix{k}").mkdir()
        write_bars(tmp_path / f"fix{k}" / "X_1min.txt", "2016-06-01 00:00", 100, k)
    total = 2 + history + 100
    store = barstore.connect(tmp_path / "store")
    store.load(tmp_path / "seed", tz="UTC", progress=False, timeframe="1min")
    done = threading.Event()
    errors = []
    counted = []

    def load_history():
        try:
            store.load(tmp_path / "history", tz="UTC", progress=False, jobs=1)
        except Exception as e:  # the assertion below names it
            errors.append(e)
        finally:
            done.set()

    def load_fixes():
        k = 0
        try:
            while not done.is_set():
                store.load(tmp_path / f"fix{k % fixes}", tz="UTC", progress=False, jobs=1,
                           force=True)
                k += 1
        except Exception as e:
            errors.append(e)

    def watch_counts():
        while not done.is_set():
            counted.extend(store.symbols()["rows"].tolist())

    threads = [threading.Thread(target=f) for f in (load_history, load_fixes, watch_counts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(store.read("X")) == total
    assert store.symbols()["rows"].tolist() == [total]
    # bars are only ever added here: no count seen on the way may exceed the end's
    assert max(counted) <= total, sorted(set(counted))[-5:]
