"""The history benchmark: what a store's growing history costs its readers.

`--history N` appends N trading days, one load per day, to every series of a universe
of `--history-symbols` symbols (no compaction between), timing each load, then times in
this process (best of `--repeat`), as the universe benchmark reads: opening the store
and listing its series, one day of every symbol into pandas (the last day), and the
first day read as of 100 versions back (or the first version, for shorter histories)
beside the same read at the latest. Then `compact` and the same figures again. Each day
is 390 regular-session bars.
"""

import shutil
import subprocess
import time
from datetime import date, timedelta
from pathlib import Path

DAY_BARS = 390


def trading_days(n: int) -> list[date]:
    out, d = [], date(2024, 1, 2)
    while len(out) < n:
        if d.weekday() < 5:
            out.append(d)
        d += timedelta(days=1)
    return out


def day_file(path: Path, day: date, seed: int) -> None:
    price = 100.0 + seed % 50
    lines = []
    for m in range(DAY_BARS):
        h, mi = 9 + (30 + m) // 60, (30 + m) % 60
        p = price + ((m * 7 + seed) % 13) / 100
        lines.append(f"{day:%Y-%m-%d} {h:02d}:{mi:02d}:00,{p:.2f},{p + 0.05:.2f},{p - 0.05:.2f},"
                     f"{p:.2f},{100 + m}\n")
    path.write_text("".join(lines))


def best(fn, repeat: int) -> float:
    out = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out = min(out, time.perf_counter() - t)
    return out


def figures(store: Path, symbols: list[str], last: date, first: date, back: int,
            repeat: int) -> dict[str, float]:
    """Opening the store (a new connection and its listing), one day of every symbol
    into pandas, and the first day (which every version holds) at the latest version and
    as of `back`, in this process, as the universe benchmark reads."""
    import barstore

    def opened():
        with barstore.connect(str(store)) as s:
            assert len(s.symbols()) == len(symbols)

    day, old = f"{last:%Y-%m-%d}", f"{first:%Y-%m-%d}"
    with barstore.connect(str(store)) as s:
        rows = len(symbols) * DAY_BARS
        assert len(s.read(symbols, day, day)) == rows
        assert len(s.read(symbols, old, old, as_of=back)) == rows
        return {
            "open": best(opened, repeat),
            "day": best(lambda: s.read(symbols, day, day), repeat),
            "first": best(lambda: s.read(symbols, old, old), repeat),
            "as_of": best(lambda: s.read(symbols, old, old, as_of=back), repeat),
        }


def run(a, release: Path, work: Path, line) -> None:
    n, symbols = a.history, a.history_symbols
    root = work / f"history-{symbols}x{n}"
    shutil.rmtree(root, ignore_errors=True)
    store = root / "store"
    cli = [release / "barstore", "--store", str(store)]
    days = trading_days(n + 1)
    print(f"\nhistory: {symbols} series x {n} daily appends, one load per day "
          f"({DAY_BARS} bars a day; loads as whole processes, reads in this process, best of {a.repeat})")
    loads = []
    for i, day in enumerate(days):
        inbox = root / "days" / f"{day:%Y%m%d}"
        inbox.mkdir(parents=True)
        for s in range(symbols):
            day_file(inbox / f"H{s:05d}_1min.txt", day, s * 31 + i)
        t = time.perf_counter()
        subprocess.run([*cli, "load", "-q", str(inbox)], check=True, stderr=subprocess.DEVNULL)
        loads.append(time.perf_counter() - t)
        shutil.rmtree(inbox)
    tail = sorted(loads[-10:])
    print(f"  {n + 1} loads in {sum(loads):.1f} s: the first {loads[0]:.2f} s, the second "
          f"{loads[1] if n else loads[0]:.2f} s, the median of the last ten {tail[len(tail) // 2]:.2f} s, "
          f"the slowest {max(loads):.2f} s")
    latest = int(subprocess.run([*cli, "history", "--limit", "1"], check=True,
                                capture_output=True, text=True).stdout.splitlines()[1].split(",")[0])
    back = max(latest - 100, 1)
    names = [f"H{s:05d}" for s in range(symbols)]
    before = figures(store, names, days[-1], days[0], back, a.repeat)
    subprocess.run([*cli, "compact"], check=True, stderr=subprocess.DEVNULL)
    after = figures(store, names, days[-1], days[0], back, a.repeat)
    for when, f in [("after the appends", before), ("after compact", after)]:
        print(f"  {when}: open the store and list {symbols} series: {f['open'] * 1e3:.0f} ms; "
              f"one day x {symbols} symbols into pandas: {f['day']:.3f} s")
        line(f"history ({when}): first day as of version {back} (latest {latest})", f["as_of"],
             f["first"], "s", baseline="the same read at the latest version")
