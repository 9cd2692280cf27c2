"""The history benchmark: what a store's growing history costs its readers.

`--history N` appends N trading days, one load per day, to every series of a universe
of `--history-symbols` symbols (no compaction between), then times, with the CLI as a
whole process (best of `--repeat`): opening the store and listing its series, one day
of every symbol to Parquet (the last day), and the first day read as of 100 versions
back (or the first version, for shorter histories) beside the same read at the latest. Then `compact` and the same
figures again. Each day is 390 regular-session bars.
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


def timed(args, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - t)
    return best


def figures(cli, last: date, first: date, back: int, out: Path, repeat: int) -> dict[str, float]:
    def read(day):
        d = f"{day:%Y-%m-%d}"
        return [*cli, "read", "--all", "--start", d, "--end", d, "-o", str(out)]
    return {
        "open": timed([*cli, "symbols"], repeat),
        "day": timed(read(last), repeat),
        # the first day, which every version holds: as of an older version and the latest
        "first": timed(read(first), repeat),
        "as_of": timed([*read(first), "--as-of", str(back)], repeat),
    }


def run(a, release: Path, work: Path, line) -> None:
    n, symbols = a.history, a.history_symbols
    root = work / f"history-{symbols}x{n}"
    shutil.rmtree(root, ignore_errors=True)
    store = root / "store"
    cli = [release / "barstore", "--store", str(store)]
    days = trading_days(n + 1)
    print(f"\nhistory: {symbols} series x {n} daily appends, one load per day "
          f"({DAY_BARS} bars a day; best of {a.repeat}, whole processes)")
    t = time.perf_counter()
    for i, day in enumerate(days):
        inbox = root / "days" / f"{day:%Y%m%d}"
        inbox.mkdir(parents=True)
        for s in range(symbols):
            day_file(inbox / f"H{s:05d}_1min.txt", day, s * 31 + i)
        subprocess.run([*cli, "load", "-q", str(inbox)], check=True, stderr=subprocess.DEVNULL)
        shutil.rmtree(inbox)
    print(f"  {n + 1} loads in {time.perf_counter() - t:.1f} s")
    latest = int(subprocess.run([*cli, "history", "--limit", "1"], check=True,
                                capture_output=True, text=True).stdout.splitlines()[1].split(",")[0])
    back = max(latest - 100, 1)
    out = root / "day.parquet"
    before = figures(cli, days[-1], days[0], back, out, a.repeat)
    subprocess.run([*cli, "compact"], check=True, stderr=subprocess.DEVNULL)
    after = figures(cli, days[-1], days[0], back, out, a.repeat)
    for when, f in [("after the appends", before), ("after compact", after)]:
        print(f"  {when}: open the store and list {symbols} series: {f['open']:.3f} s; "
              f"one day x {symbols} symbols to Parquet: {f['day']:.3f} s")
        line(f"history ({when}): first day as of version {back} (latest {latest})", f["as_of"],
             f["first"], "s", baseline="the same read at the latest version")
