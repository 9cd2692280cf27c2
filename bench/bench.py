"""barstore benchmarks, each beside a baseline measured in the same run.

Run through scripts/bench. Figures are best-of-N wall times on this machine; ratios
above 1 mean barstore is faster.
"""

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RELEASE = ROOT / "target" / "release"
WORK = ROOT / "target" / "bench"
NAMES = ["timestamp", "open", "high", "low", "close", "volume"]


def best(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def rust(*args):
    out = subprocess.run([RELEASE / "barstore-bench", *map(str, args)], check=True,
                         capture_output=True, text=True).stdout
    import json
    return json.loads(out)


def generate(rows, name):
    path = WORK / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        subprocess.run([RELEASE / "barstore-bench", "gen", "--rows", str(rows), path], check=True)
    return path


def spawn_measured(args):
    """Runs a command; returns (seconds, peak RSS in MiB) of that process alone."""
    args = [str(a) for a in args]
    devnull = os.open(os.devnull, os.O_WRONLY)
    t = time.perf_counter()
    pid = os.posix_spawn(args[0], args, os.environ,
                         file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 2)])
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - t
    if status != 0:
        sys.exit(f"{args} failed with status {status}")
    return seconds, usage.ru_maxrss / 1024


def timed_child(args):
    """spawn_measured from a fresh, small Python process: Linux carries the spawning
    process's peak RSS into the child's, so the spawner must stay small."""
    import json
    out = subprocess.run([sys.executable, __file__, "--measure", *map(str, args)],
                         check=True, capture_output=True, text=True).stdout
    return tuple(json.loads(out))


def line(what, ours, base, unit, better_low=True):
    ratio = (base / ours) if better_low else (ours / base)
    print(f"  {what:<44} {ours:>12,.3f} {unit:<8} baseline {base:>12,.3f} {unit:<8} x{ratio:5.2f}")


def main():
    if sys.argv[1:2] == ["--measure"]:
        import json
        print(json.dumps(spawn_measured(sys.argv[2:])))
        return
    import pandas as pd
    import pyarrow.parquet as pq

    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_800_000)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    src = generate(a.rows, f"gen-{a.rows}/BENCH_full_1min_adjsplit.txt")
    big = generate(2 * a.rows, f"gen-{2 * a.rows}/BENCH_full_1min_adjsplit.txt")
    rows = a.rows
    print(f"barstore bench: {rows:,} rows, {src.stat().st_size / 2**20:.1f} MiB FirstRate-style file, "
          f"{os.cpu_count()} cores\n")

    print("parse (rows/s, higher is better; baseline: pandas.read_csv + to_datetime)")
    one = rust("parse", src, "--threads", 1, "--repeat", a.repeat)
    two = rust("parse", src, "--threads", 2, "--repeat", a.repeat)

    def pandas_parse():
        df = pd.read_csv(src, header=None, names=NAMES)
        pd.to_datetime(df["timestamp"], format="%Y-%m-%d %H:%M:%S")

    def pandas_read_only():
        pd.read_csv(src, header=None, names=NAMES)

    base = rows / best(pandas_parse, max(1, a.repeat // 2))
    base_raw = rows / best(pandas_read_only, max(1, a.repeat // 2))
    line("barstore parse, 1 thread", rows / one["seconds"] / 1e6, base / 1e6, "M rows/s", False)
    line("barstore parse, 2 threads", rows / two["seconds"] / 1e6, base / 1e6, "M rows/s", False)
    line("  (pandas.read_csv without dates)", rows / one["seconds"] / 1e6, base_raw / 1e6,
         "M rows/s", False)

    print("\nload into the embedded store (CLI, fresh store each run)")
    results = {}
    for path, n in [(src, rows), (big, 2 * rows)]:
        runs = []
        for _ in range(3):
            store = WORK / "store"
            shutil.rmtree(store, ignore_errors=True)
            runs.append(timed_child([RELEASE / "barstore", "--store", store, "load", "-q",
                                     "--errors", WORK / "errors.jsonl", path]))
        secs = min(r[0] for r in runs)
        rss = max(r[1] for r in runs)
        results[n] = (secs, rss)
        print(f"  {n:>10,} rows: {secs:6.3f} s  {n / secs / 1e6:6.2f} M rows/s  peak RSS {rss:7.1f} MiB")
    (s1, r1), (s2, r2) = results[rows], results[2 * rows]
    print(f"  peak RSS for 2x the rows: x{r2 / r1:.2f} (bounded memory: ~1.0 expected)")

    print("\nfull-symbol read into memory (s, lower is better; baseline: pyarrow.parquet.read_table "
          "on the same files)")
    store = WORK / "store"
    shutil.rmtree(store, ignore_errors=True)
    subprocess.run([RELEASE / "barstore", "--store", store, "load", "-q", "--errors",
                    WORK / "errors.jsonl", src], check=True, stderr=subprocess.DEVNULL)
    ours = rust("read", store, "BENCH", "--repeat", a.repeat)
    assert ours["rows"] == rows, ours
    files = sorted(str(p) for p in (store / "bars" / "symbol=BENCH").glob("year=*/data.parquet"))
    base = best(lambda: [pq.read_table(f) for f in files], a.repeat)
    line("barstore read (Rust, into columns)", ours["seconds"], base, "s")


if __name__ == "__main__":
    main()
