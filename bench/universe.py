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


def run(a, release: Path, work: Path, line, best, settle) -> None:
    """Prints each figure through bench.py's `line`, timing with its `best`: ArcticDB's
    first, then the same work on the embedded store and, with `--universe-cql HOST:PORT`,
    on a fresh keyspace of that node (`settle(HOST:PORT)` waits for its compactions
    after each load, before the next timed step)."""
    import pandas as pd

    n, days = a.universe, a.days
    print(f"\nuniverse: {n:,} symbols x {days} days of {DAY_BARS} one-minute bars "
          f"({n * days * DAY_BARS / 1e6:.1f}M bars) + 1 update day; baseline ArcticDB (LMDB)")
    history, update, symbols = generate(release, work, n, days)
    bars = n * days * DAY_BARS
    # a day in the middle of the history (inside a month's file, not a daily part) and
    # the history's first calendar month, whole; the generator starts on 2015-01-02
    first = pd.Timestamp("2015-01-02")
    mid = pd.bdate_range(first, periods=days)[days // 2]
    month = (pd.Timestamp("2015-01-01"), pd.Timestamp("2015-01-31"))
    hundred = symbols[:100]

    import arcticdb as adb
    lmdb = work / "universe-arctic"
    shutil.rmtree(lmdb, ignore_errors=True)
    lib = adb.Arctic(f"lmdb://{lmdb}?map_size=64GB").get_library("bars", create_if_missing=True)
    t = time.perf_counter()
    frames = read_frames(sorted(history.iterdir()))
    parse_s = time.perf_counter() - t
    t = time.perf_counter()
    lib.write_batch([adb.WritePayload(s, df) for s, df in frames.items()])
    arctic = {"load": bars / (time.perf_counter() - t + parse_s) / 1e6}
    print(f"  ArcticDB write_batch alone, from DataFrames: "
          f"{bars / (time.perf_counter() - t) / 1e6:.2f} M bars/s; pandas parsing {parse_s:.1f} s")
    del frames
    updates = read_frames(sorted(update.iterdir()))
    t = time.perf_counter()
    lib.append_batch([adb.WritePayload(s, df) for s, df in updates.items()])
    arctic["append"] = time.perf_counter() - t

    def arctic_read(names, lo, hi):
        rng = (lo, hi + pd.Timedelta(hours=23, minutes=59))
        res = lib.read_batch([adb.ReadRequest(x, date_range=rng) for x in names])
        return pd.concat({r.symbol: r.data for r in res}, names=["symbol", "timestamp"])

    # reads are timed once the writes are on disk: not against the kernel's write-back
    os.sync()
    arctic["day"] = best(lambda: arctic_read(symbols, mid, mid), a.repeat)
    arctic["month"] = best(lambda: arctic_read(hundred, *month), a.repeat)
    arctic["list"] = best(lib.list_symbols, a.repeat)
    rows = {"bars": bars, "day": len(arctic_read(symbols, mid, mid)),
            "month": len(arctic_read(hundred, *month))}

    stores = [("embedded", work / "universe-store")]
    if a.universe_cql:
        stores.append(("CQL", f"cql://{a.universe_cql}/universe_{os.getpid()}"))

    def quiet(name):
        if name == "CQL":
            settle(a.universe_cql)

    for name, store in stores:
        if name == "embedded":
            shutil.rmtree(store, ignore_errors=True)
        measure_store(name, store, history, update, symbols, (mid, month, hundred), rows,
                      arctic, release, a.repeat, line, best, lambda: quiet(name))
    listing(work, stores, a.listed, line, best, a.repeat)
    append_scaling(release, work, stores, a.scaling, line, quiet)
    out = work / "universe.parquet"
    _, rss, _ = measured([release / "barstore", "--store", stores[0][1], "read", "--all",
                          "-o", out])
    print(f"  read --all of the whole universe to Parquet (embedded): peak RSS {rss:.0f} MiB "
          f"({os.path.getsize(out) / 2**20:.0f} MiB written)")


def measure_store(name, store, history, update, symbols, ranges, rows, arctic, release,
                  repeat, line, best, quiet):
    """Loads the universe into `store`, appends the update day, reads and lists, each
    beside ArcticDB's figure; `quiet()` after each load."""
    import barstore
    mid, month, hundred = ranges
    bars = rows["bars"]
    cli = [release / "barstore", "--store", store]
    t = time.perf_counter()
    subprocess.run([*cli, "load", "-q", history], check=True, stderr=subprocess.DEVNULL)
    line(f"{name}: universe load (files -> store)", bars / (time.perf_counter() - t) / 1e6,
         arctic["load"], "M bars/s", False, baseline="ArcticDB write_batch + pandas read_csv")
    quiet()
    t = time.perf_counter()
    subprocess.run([*cli, "load", "-q", update], check=True, stderr=subprocess.DEVNULL)
    line(f"{name}: append one day to every series", time.perf_counter() - t,
         arctic["append"], "s", baseline="ArcticDB append_batch (from DataFrames)")
    quiet()
    os.sync()
    day = f"{mid:%Y-%m-%d}"
    span = [f"{m:%Y-%m-%d}" for m in month]
    with barstore.connect(str(store)) as s:
        assert len(s.read(symbols, day, day)) == rows["day"]
        assert len(s.read(hundred, *span)) == rows["month"]
        line(f"{name}: read one day x {len(symbols):,} symbols into pandas",
             best(lambda: s.read(symbols, day, day), repeat), arctic["day"], "s",
             baseline="ArcticDB read_batch + concat")
        line(f"{name}: read one month x 100 symbols into pandas",
             best(lambda: s.read(hundred, *span), repeat), arctic["month"], "s",
             baseline="ArcticDB read_batch + concat")
        line(f"{name}: list {len(symbols):,} series", best(s.symbols, repeat),
             arctic["list"], "s", baseline="ArcticDB list_symbols")


def fresh(name, store, work, tag):
    """The store of `stores` under a name of its own for `tag`: a directory under `work`
    (emptied) or a keyspace of the same node."""
    if name == "embedded":
        path = work / f"universe-{tag}-store"
        shutil.rmtree(path, ignore_errors=True)
        return str(path)
    return f"{store.rsplit('/', 1)[0]}/universe_{tag.replace('-', '_')}_{os.getpid()}"


def listing(work, stores, n, line, best, repeat):
    """Listing `n` series (of a few bars each) on each store beside ArcticDB's
    list_symbols of as many symbols: the index must keep it flat in the number of
    series."""
    import arcticdb as adb
    import barstore
    import pandas as pd
    root = work / f"listing-{n}"
    if not (root / ".complete").exists():
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        bars = "".join(f"2024-03-04 09:3{m}:00,10.0,10.5,9.5,10.2,100\n" for m in range(5))
        for i in range(n):
            (root / f"L{i:05d}_full_1min_adjsplit.txt").write_text(bars)
        (root / ".complete").touch()
    lmdb = work / "listing-arctic"
    shutil.rmtree(lmdb, ignore_errors=True)
    lib = adb.Arctic(f"lmdb://{lmdb}?map_size=8GB").get_library("list", create_if_missing=True)
    frame = pd.DataFrame({"close": [10.2] * 5},
                         index=pd.date_range("2024-03-04 09:30", periods=5, freq="min"))
    lib.write_batch([adb.WritePayload(f"L{i:05d}", frame) for i in range(n)])
    arctic = best(lib.list_symbols, repeat)
    for name, store in stores:
        target = fresh(name, store, work, "listing")
        with barstore.connect(target) as s:
            s.load(root, progress=False)
            assert len(s.symbols()) == n
            line(f"{name}: list {n:,} series", best(s.symbols, repeat), arctic, "s",
                 baseline="ArcticDB list_symbols")


def append_scaling(release, work, stores, n, line, quiet, runs=2):
    """One day appended to `n` series holding a year, against the same append to `n`
    series holding a month (the update day in the history's last month both times):
    an append costs what the new day costs, not what the history holds. Best of `runs`,
    each on a fresh history, appended once `quiet(name)` says the node settled, as in
    every other CQL step."""
    import barstore
    for name, store in stores:
        took = {}
        for span, days in (("month", 20), ("year", 251)):
            history, update, _ = generate(release, work, n, days)
            times = []
            for i in range(runs):
                with barstore.connect(fresh(name, store, work, f"append-{span}-{i}")) as s:
                    s.load(history, progress=False)
                    quiet(name)
                    t = time.perf_counter()
                    s.load(update, progress=False)
                    times.append(time.perf_counter() - t)
            took[span] = min(times)
        line(f"{name}: append one day x {n} to a year of history", took["year"],
             took["month"], "s", baseline="the same append to a month of history")


def measured(args):
    """(seconds, peak RSS in MiB, CPU seconds) of one command, spawned from a fresh interpreter: a
    child spawned from this one would report this process's peak (the ArcticDB frames)."""
    import json
    import sys
    out = subprocess.run([sys.executable, Path(__file__).with_name("bench.py"), "--measure",
                          *map(str, args)], check=True, capture_output=True, text=True).stdout
    return tuple(json.loads(out))
