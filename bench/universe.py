"""The universe benchmark: many symbols at once, beside ArcticDB in the same run.

A generated universe (default 2,000 symbols x 21 trading days of 960 one-minute bars,
FirstRate-style files) plus one more day for every symbol; each figure for the
embedded store and for ArcticDB (LMDB, from PyPI), same data, same machine, one after
the other. Run through `scripts/bench --universe N` (`--only-universe` for this part
alone). ArcticDB's loads are timed from DataFrames, with pandas' parsing of the same
files shown beside them.
"""

import os
import shutil
import subprocess
import time
from pathlib import Path

DAY_BARS = 960


def generate(release: Path, work: Path, n: int, days: int) -> tuple[Path, Path, list[str]]:
    """history/ (days per symbol) and update/ (the next day), generated once per size."""
    root = work / f"universe-{n}x{days}"
    history, update = root / "history", root / "update"
    symbols = [f"U{i:05d}" for i in range(n)]
    done = root / ".complete"
    if done.exists():
        return history, update, symbols
    shutil.rmtree(root, ignore_errors=True)
    history.mkdir(parents=True)
    update.mkdir()
    for i, s in enumerate(symbols):
        name = f"{s}_full_1min_adjsplit.txt"
        full = root / name
        subprocess.run([release / "barstore-bench", "gen", "--rows", str((days + 1) * DAY_BARS),
                        "--seed", str(i + 100), full], check=True)
        lines = full.read_bytes().splitlines(keepends=True)
        (history / name).write_bytes(b"".join(lines[:days * DAY_BARS]))
        (update / name).write_bytes(b"".join(lines[days * DAY_BARS:]))
        full.unlink()
    done.touch()
    return history, update, symbols


def read_frames(paths):
    import pandas as pd
    out = {}
    for p in paths:
        df = pd.read_csv(p, header=None, names=["timestamp", "open", "high", "low", "close",
                                                 "volume"])
        df["timestamp"] = pd.to_datetime(df["timestamp"], format="%Y-%m-%d %H:%M:%S")
        out[p.name.split("_")[0]] = df.set_index("timestamp")
    return out


def run(a, release: Path, work: Path, line, best) -> None:
    """Prints each figure through bench.py's `line`, timing with its `best`."""
    import pandas as pd
    import barstore

    n, days = a.universe, a.days
    print(f"\nuniverse: {n:,} symbols x {days} days of {DAY_BARS} one-minute bars "
          f"({n * days * DAY_BARS / 1e6:.1f}M bars) + 1 update day; baseline ArcticDB (LMDB)")
    history, update, symbols = generate(release, work, n, days)
    bars = n * days * DAY_BARS
    store = work / "universe-store"
    shutil.rmtree(store, ignore_errors=True)
    cli = [release / "barstore", "--store", store]
    t = time.perf_counter()
    subprocess.run([*cli, "load", "-q", history], check=True, stderr=subprocess.DEVNULL)
    load_s = time.perf_counter() - t

    import arcticdb as adb
    lmdb = work / "universe-arctic"
    shutil.rmtree(lmdb, ignore_errors=True)
    lib = adb.Arctic(f"lmdb://{lmdb}?map_size=64GB").get_library("bars", create_if_missing=True)
    t = time.perf_counter()
    frames = read_frames(sorted(history.iterdir()))
    parse_s = time.perf_counter() - t
    t = time.perf_counter()
    lib.write_batch([adb.WritePayload(s, df) for s, df in frames.items()])
    arctic_load_s = time.perf_counter() - t
    del frames
    line("universe load (files -> store)", bars / load_s / 1e6,
         bars / (arctic_load_s + parse_s) / 1e6, "M bars/s", False,
         baseline="ArcticDB write_batch + pandas read_csv")
    print(f"    (ArcticDB write_batch alone, from DataFrames: {bars / arctic_load_s / 1e6:.2f} "
          f"M bars/s; pandas parsing {parse_s:.1f} s)")

    t = time.perf_counter()
    subprocess.run([*cli, "load", "-q", update], check=True, stderr=subprocess.DEVNULL)
    append_s = time.perf_counter() - t
    updates = read_frames(sorted(update.iterdir()))
    t = time.perf_counter()
    lib.append_batch([adb.WritePayload(s, df) for s, df in updates.items()])
    arctic_append_s = time.perf_counter() - t
    line("append one day to every series", append_s, arctic_append_s, "s",
         baseline="ArcticDB append_batch (from DataFrames)")

    with barstore.connect(store) as s:
        first = s.symbols()["first"].min().normalize()
        # a day in the middle of the history (inside a month's file, not a daily part)
        # and the history's first calendar month, whole
        mid = pd.bdate_range(first, periods=days)[days // 2]
        day = f"{mid:%Y-%m-%d}"
        first_day = pd.Timestamp(f"{first:%Y-%m}-01")
        month_end = first_day + pd.offsets.MonthEnd(0)
        ours = best(lambda: s.read(symbols, day, day), a.repeat)
        got = s.read(symbols, day, day)
        rng = (mid, mid + pd.Timedelta(hours=23, minutes=59))

        def arctic_day():
            res = lib.read_batch([adb.ReadRequest(x, date_range=rng) for x in symbols])
            return pd.concat({r.symbol: r.data for r in res}, names=["symbol", "timestamp"])

        base = best(arctic_day, a.repeat)
        assert len(arctic_day()) == len(got) == n * DAY_BARS, (len(got), n)
        line(f"read one day x {n:,} symbols into pandas", ours, base, "s",
             baseline="ArcticDB read_batch + concat")

        hundred = symbols[:100]
        month = (f"{first_day:%Y-%m-%d}", f"{month_end:%Y-%m-%d}")
        ours = best(lambda: s.read(hundred, *month), a.repeat)
        mrng = (first_day, month_end + pd.Timedelta(hours=23, minutes=59))

        def arctic_month():
            res = lib.read_batch([adb.ReadRequest(x, date_range=mrng) for x in hundred])
            return pd.concat({r.symbol: r.data for r in res}, names=["symbol", "timestamp"])

        assert len(arctic_month()) == len(s.read(hundred, *month))
        base = best(arctic_month, a.repeat)
        line("read one month x 100 symbols into pandas", ours, base, "s",
             baseline="ArcticDB read_batch + concat")

        ours = best(s.symbols, a.repeat)
        base = best(lib.list_symbols, a.repeat)
        line(f"list {n:,} series", ours, base, "s", baseline="ArcticDB list_symbols")

    out = work / "universe.parquet"
    _, rss, _ = measured([*cli, "read", "--all", "-o", out])
    print(f"  read --all of the whole universe to Parquet: peak RSS {rss:.0f} MiB "
          f"({os.path.getsize(out) / 2**20:.0f} MiB written)")


def measured(args):
    """(seconds, peak RSS in MiB, CPU seconds) of one command, spawned from a fresh interpreter: a
    child spawned from this one would report this process's peak (the ArcticDB frames)."""
    import json
    import sys
    out = subprocess.run([sys.executable, Path(__file__).with_name("bench.py"), "--measure",
                          *map(str, args)], check=True, capture_output=True, text=True).stdout
    return tuple(json.loads(out))
