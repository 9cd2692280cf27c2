"""barstore benchmarks, each beside a baseline measured in the same run.

Run through scripts/bench. Figures are best-of-N wall times on this machine; ratios
above 1 mean barstore is faster.
"""

import argparse
import itertools
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RELEASE = ROOT / "target" / "release"
WORK = ROOT / "target" / "bench"
WARMUP_LOADS = 4
# A node compiles a code path once it has run some thousands of times. A chunked load
# sends one transaction a month (about 180 for the bench's files), so its batch path is
# still being compiled after a dozen loads: measured on a fresh node, the compiler
# threads took 0.4-1.4 of the 1.1-2.7 CPU-s the node spent per load over its first 15
# loads, and at most 0.26 of 0.65-1.1 CPU-s over loads 25-44. COPY's 100 s runs and the
# notebook reader's 10 s ones warm their own paths as they go. So warm-ups run until the
# node's compilers are quiet: below QUIET of the node's CPU over a step, twice in a row.
QUIET = 0.15
CHUNKED_WARMUP_LOADS = (8, 60)
LOAD_RUNS = 3
COPY_RUNS = 2
WARMUP_READS = 10
WARMUP_READ_STEPS = (4, 40)
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


def generate(rows, name, seed=1):
    path = WORK / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        subprocess.run([RELEASE / "barstore-bench", "gen", "--rows", str(rows), "--seed",
                        str(seed), path], check=True)
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
    return seconds, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def load_command(store, *files):
    """`barstore load` of `files` into `store`, quiet, its error log kept out of the way."""
    return [RELEASE / "barstore", "--store", store, "load", "-q", "--errors",
            WORK / "errors.jsonl", *files]


def timed_child(args):
    """spawn_measured from a fresh, small Python process: Linux carries the spawning
    process's peak RSS into the child's, so the spawner must stay small."""
    import json
    out = subprocess.run([sys.executable, __file__, "--measure", *map(str, args)],
                         check=True, capture_output=True, text=True).stdout
    return tuple(json.loads(out))


FIGURES = []


def line(what, ours, base, unit, better_low=True, baseline=None):
    """Prints one comparison; with `baseline` (its name) it also goes into the chart."""
    ratio = (base / ours) if better_low else (ours / base)
    print(f"  {what:<44} {ours:>12,.3f} {unit:<8} baseline {base:>12,.3f} {unit:<8} x{ratio:5.2f}")
    if baseline:
        FIGURES.append({"label": what, "baseline": baseline, "ratio": ratio,
                        "detail": f"{ours:,.3f} {unit}"})


def write_chart():
    """bench/figures.json and the chart the README shows, docs/img/bench.svg."""
    import json
    figures = ROOT / "bench" / "figures.json"
    # a partial run (--only-cql, --only-universe) replaces its own figures, keeps the rest
    fresh = {f["label"] for f in FIGURES}
    kept = [f for f in json.loads(figures.read_text()) if f["label"] not in fresh] \
        if figures.exists() else []
    FIGURES[:0] = kept
    figures.write_text(json.dumps(FIGURES, indent=1) + "\n")
    chart = ROOT / "docs" / "img" / "bench.svg"
    chart.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([RELEASE / "barstore-bench", "chart", figures, "-o", chart, "--title",
                    f"barstore vs baselines: times faster ({os.cpu_count()} cores, one machine)"],
                   check=True)
    print(f"\nchart of {len(FIGURES)} figures: {chart.relative_to(ROOT)}")


def proc_cpu_seconds(pid):
    """CPU seconds (user + system) a process has used so far."""
    return stat_cpu_seconds(Path(f"/proc/{pid}/stat").read_text())


def stat_cpu_seconds(stat):
    """CPU seconds (user + system) of a /proc stat line."""
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Node:
    """A Cassandra node of the bench's own (4 GiB heap), started and stopped here."""

    def __init__(self, port=9242, storage=7200):
        self.state = WORK / "node"
        shutil.rmtree(self.state, ignore_errors=True)
        env = dict(os.environ, CASSANDRA_CQL_PORT=str(port), CASSANDRA_STORAGE_PORT=str(storage),
                   CASSANDRA_HEAP="4G")
        self.addr = subprocess.run([ROOT / "scripts/cassandra/start", self.state], env=env,
                                   check=True, capture_output=True, text=True).stdout.strip()
        self.pid = int((self.state / "cassandra.pid").read_text())

    def cpu(self):
        return proc_cpu_seconds(self.pid)

    def compiler_cpu(self):
        """CPU seconds the node's JIT compiler threads have used so far."""
        total = 0.0
        for task in Path(f"/proc/{self.pid}/task").iterdir():
            try:
                stat = (task / "stat").read_text()
            except FileNotFoundError:
                continue
            if "CompilerThre" in stat[stat.index("("):stat.rindex(")")]:
                total += stat_cpu_seconds(stat)
        return total

    def warm(self, step, steps):
        """Runs `step` until the node's compilers are quiet: below QUIET of the node's CPU
        over a step, twice in a row, after at least steps[0] steps and at most steps[1].
        Returns (steps run, the compilers' share of the last step)."""
        quiet, share = 0, 1.0
        for n in range(1, steps[1] + 1):
            cpu0, jit0 = self.cpu(), self.compiler_cpu()
            step()
            share = (self.compiler_cpu() - jit0) / max(self.cpu() - cpu0, 1e-9)
            quiet = quiet + 1 if share < QUIET else 0
            if n >= steps[0] and quiet >= 2:
                break
        return n, share

    def stop(self):
        subprocess.run([ROOT / "scripts/cassandra/stop", self.state], check=True)


def wait_compactions(session, limit=300):
    """Waits until the node runs no compaction (Cassandra's sstable_tasks view)."""
    for _ in range(limit):
        if not list(session.execute("SELECT * FROM system_views.sstable_tasks")):
            return
        time.sleep(1)
    sys.exit(f"compactions still running after {limit} s")


def settle(addr):
    """Waits until the CQL node at HOST:PORT runs no compaction, so that the next timed
    step measures its own work, not the compaction of the load before it."""
    from cassandra.cluster import Cluster
    host, port = addr.rsplit(":", 1)
    cluster = Cluster([host], port=int(port))
    try:
        wait_compactions(cluster.connect())
    finally:
        cluster.shutdown()


def cqlsh_copy(node, prepared, host, port, rows):
    """One cqlsh COPY FROM process per prepared file; returns (seconds, node cores)."""
    cpu0 = node.cpu()
    t0 = time.perf_counter()
    procs = [subprocess.Popen(
        [str(Path(sys.executable).parent / "cqlsh"), host, port, "-e",
         f"COPY bench.copy_1m (symbol, bucket, timestamp, open, high, low, close, volume) FROM "
         f"'{p}' WITH NUMPROCESSES=2 AND CHUNKSIZE=5000 AND MAXBATCHSIZE=20"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for p in prepared]
    count = 0
    for p in procs:
        out, err = p.communicate()
        if p.returncode:
            sys.exit(f"cqlsh COPY failed: {err[-2000:]}")
        count += sum(int(n) for n in re.findall(r"(\d+) rows imported", out + err))
    secs = time.perf_counter() - t0
    if count != rows:
        sys.exit(f"cqlsh COPY imported {count:,} rows, not {rows:,}")
    return secs, (node.cpu() - cpu0) / secs


def table_bytes(node, keyspace, table):
    """Bytes on disk of a table's SSTables (all components), read after the node stopped
    (a graceful stop flushes every memtable)."""
    return sum(f.stat().st_size for d in (node.state / "data" / keyspace).glob(f"{table}-*")
               for f in d.rglob("*") if f.is_file())


def cql_bench(args, files, repeat):
    """Loads into a real node: barstore's chunked and typed layouts beside cqlsh COPY;
    then reads into pandas beside the notebook's reader; then bytes on disk."""
    import pandas as pd
    from cassandra.cluster import Cluster

    node = Node()
    sizes = {}
    try:
        host, port = node.addr.split(":")
        rows = args.rows * len(files)
        print(f"\nload into Cassandra 5 on this machine ({len(files)} symbols x {args.rows:,} rows, "
              "node heap 4 GiB, same 2 cores as the loader)")
        cluster = Cluster([host], port=int(port))
        session = cluster.connect()
        # schema changes wait for a busy node (flushing, compacting) far longer than the
        # driver's 10 s default
        session.default_timeout = 120
        # Warm the node's JIT first (every method then runs on the same warm node): the
        # typed load rate climbs for about 15M rows before it levels off.
        def warm_load(keyspace, layout):
            subprocess.run(load_command(f"cql://{node.addr}/{keyspace}?layout={layout}", *files),
                           check=True, stderr=subprocess.DEVNULL)
            session.execute(f"DROP KEYSPACE {keyspace}")

        for i in range(WARMUP_LOADS):
            warm_load(f"warmup{i}", "typed" if i % 2 == 0 else "chunked")
        loads = itertools.count(WARMUP_LOADS)
        n, share = node.warm(lambda: warm_load(f"warmup{next(loads)}", "chunked"),
                             CHUNKED_WARMUP_LOADS)
        print(f"  (node warmed by {WARMUP_LOADS} alternating loads and {n} chunked ones; its "
              f"compilers took {share:.0%} of its CPU in the last)")
        # Each run starts on a settled node (no compaction left from the one before) and
        # counts the node's CPU while it lasts. Its keyspace and tables exist before the
        # clock starts (a one-bar load of another symbol makes them), as COPY's table
        # does: the figure is the load, not the schema changes of a new keyspace.
        setup = WORK / "setup" / "SETUP_full_1min_adjsplit.txt"
        setup.parent.mkdir(parents=True, exist_ok=True)
        setup.write_text("2015-01-02 09:30:00,1.0,1.0,1.0,1.0,1\n")
        rates = {}
        for layout in ("chunked", "typed"):
            runs = []
            for i in range(LOAD_RUNS):
                keyspace = f"bench_{layout}" if i == 0 else f"bench_{layout}_run{i}"
                url_i = f"cql://{node.addr}/{keyspace}?layout={layout}"
                subprocess.run(load_command(url_i, setup), check=True, stderr=subprocess.DEVNULL)
                wait_compactions(session)
                cpu0 = node.cpu()
                secs, _, loader_cpu = timed_child(load_command(url_i, *files))
                runs.append((secs, (node.cpu() - cpu0) / secs, loader_cpu / secs))
            for i in range(1, LOAD_RUNS):
                session.execute(f"DROP KEYSPACE bench_{layout}_run{i}")
            secs, node_cores, loader_cores = min(runs)
            rates[layout] = rows / secs
            median = rows / sorted(runs)[len(runs) // 2][0]
            print(f"  barstore load, {layout:<8} (best of {LOAD_RUNS}) {secs:7.1f} s "
                  f"{rates[layout]:12,.0f} rows/s   node CPU {node_cores:.2f} cores, loader CPU "
                  f"{loader_cores:.2f} cores (median {median:,.0f} rows/s)")

        # Baseline: a Python pass adds symbol and month columns, then cqlsh COPY FROM
        # into the earlier notebook's table: the original text layout.
        session.execute("CREATE KEYSPACE IF NOT EXISTS bench WITH replication = "
                        "{'class': 'SimpleStrategy', 'replication_factor': 1}")
        session.execute("CREATE TABLE IF NOT EXISTS bench.copy_1m (symbol text, bucket text, "
                        "timestamp text, open float, high float, low float, close float, "
                        "volume float, PRIMARY KEY ((symbol, bucket), timestamp))")
        t0 = time.perf_counter()
        prepared = []
        for f in files:
            symbol = f.name.split("_")[0]
            out = WORK / f"copy-{symbol}.csv"
            with open(f) as src, open(out, "w") as dst:
                for row in src:
                    dst.write(f"{symbol},{row[:7]},{row}")
            prepared.append(out)
        rewrite = time.perf_counter() - t0
        runs = []
        for _ in range(COPY_RUNS):
            session.execute("TRUNCATE bench.copy_1m")
            wait_compactions(session)
            runs.append(cqlsh_copy(node, prepared, host, port, rows))
        copy_secs, node_cores = min(runs)
        base = rows / (rewrite + copy_secs)
        print(f"  cqlsh COPY ({len(files)} processes, best of {COPY_RUNS}) {rewrite + copy_secs:6.1f} s "
              f"{base:12,.0f} rows/s   node CPU {node_cores:.2f} cores "
              f"(rewrite {rewrite:.1f} s + COPY {copy_secs:.1f} s)")
        for layout, rate in rates.items():
            print(f"  barstore {layout} / COPY: x{rate / base:.2f}")
            FIGURES.append({"label": f"CQL load, {layout} layout", "baseline": "cqlsh COPY",
                            "ratio": rate / base, "detail": f"{rate / 1e6:.2f}M rows/s"})

        print("\nread one symbol into pandas (s, lower is better)")
        symbol = files[0].name.split("_")[0]
        text_url = f"cql://{node.addr}/bench?table=bars_text&layout=text"
        # the notebook's table holds one series per symbol, with no adjustment
        subprocess.run([*load_command(text_url, files[0]), "--adjustment", "none"], check=True)
        import barstore
        sys.path.insert(0, str(ROOT / "python" / "tests"))
        from test_fetch import reference_fetch

        # the reference reads the file's whole span: its first and last bar
        start = pd.read_csv(files[0], header=None, nrows=1)[0][0]
        end = subprocess.run(["tail", "-n1", str(files[0])], capture_output=True,
                             text=True).stdout[:19]
        # reads are timed on a settled node: no compaction left from the loads
        wait_compactions(session)
        urls = {layout: f"cql://{node.addr}/bench_{layout}" for layout in ("chunked", "typed")}
        # the read path has its own code to compile on the node, for every reader: a
        # chunked read's node CPU falls from about 0.10 to 0.05 CPU-s over its first dozens
        for layout, url in urls.items():
            with barstore.connect(url) as warm:
                n, share = node.warm(lambda: [warm.read(symbol) for _ in range(WARMUP_READS)],
                                     WARMUP_READ_STEPS)
            print(f"  ({layout} reads warmed by {n * WARMUP_READS}; the node's compilers took "
                  f"{share:.0%} of its CPU in the last {WARMUP_READS})")
        ref = best(lambda: reference_fetch(session, symbol, start, end, "bench", "bars_text",
                                           False, False), 2)
        print(f"  reference reader (Python driver, month by month, text layout) {ref:8.2f} s")
        with barstore.connect(text_url) as text_store:
            n = len(text_store.read(symbol))
            line("barstore Store.read, same text-layout table", best(lambda: text_store.read(symbol), repeat), ref, "s",
                 baseline="the notebook's reader")
        node_cpu = {}
        for layout, url in urls.items():
            with barstore.connect(url) as store:
                assert len(store.read(symbol)) == n
                cpu0 = node.cpu()
                secs = best(lambda: store.read(symbol), repeat)
                node_cpu[layout] = (node.cpu() - cpu0) / repeat
                line(f"barstore Store.read, {layout} table", secs, ref, "s",
                     baseline="the notebook's reader")
        for layout, cpu in node_cpu.items():
            print(f"  node CPU per {layout} read of {n:,} bars: {cpu:.2f} CPU-s")

        print("\nread one day and one month (ms, median of 20; lower is better; baseline: typed)")
        day = start[:10]
        month_start, month_end = f"{day[:7]}-01", f"{day[:7]}-28"
        for what, lo, hi in [("one day", day, day), ("one month", month_start, month_end)]:
            times = {}
            for layout, url in urls.items():
                with barstore.connect(url) as store:
                    store.read(symbol, lo, hi)
                    samples = []
                    for _ in range(20):
                        t = time.perf_counter()
                        store.read(symbol, lo, hi)
                        samples.append(time.perf_counter() - t)
                    times[layout] = sorted(samples)[10] * 1000
            line(f"chunked, {what}", times["chunked"], times["typed"], "ms",
                 baseline="typed layout")
        cluster.shutdown()
    finally:
        node.stop()
    print("\nbytes on disk per bar (after the node's final flush; lower is better)")
    for what, ks, table, n in [("chunked", "bench_chunked", "bars_1m", rows),
                               ("typed", "bench_typed", "bars_1m", rows),
                               ("text (cqlsh COPY's table)", "bench", "copy_1m", rows)]:
        print(f"  {what:<28} {table_bytes(node, ks, table) / n:8.2f} bytes/bar")


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
    ap.add_argument("--symbols", type=int, default=2, help="symbols loaded into the CQL node")
    ap.add_argument("--no-cql", action="store_true", help="skip the Cassandra benchmarks")
    ap.add_argument("--only-cql", action="store_true", help="run only the Cassandra benchmarks")
    ap.add_argument("--universe", type=int, default=2000,
                    help="symbols of the universe benchmark (0: skip it)")
    ap.add_argument("--days", type=int, default=21, help="trading days of the universe")
    ap.add_argument("--listed", type=int, default=10_000,
                    help="series of the listing figure of the universe benchmark")
    ap.add_argument("--scaling", type=int, default=100,
                    help="series of the append figure (a year vs a month of history)")
    ap.add_argument("--only-universe", action="store_true",
                    help="run only the universe benchmark")
    ap.add_argument("--universe-cql", metavar="HOST:PORT",
                    help="also run the universe benchmark on this CQL node")
    ap.add_argument("--history", type=int, default=0,
                    help="daily appends of the history benchmark (0: skip it)")
    ap.add_argument("--history-symbols", type=int, default=2000,
                    help="series of the history benchmark")
    ap.add_argument("--only-history", action="store_true",
                    help="run only the history benchmark")
    a = ap.parse_args()
    if a.only_history or a.history:
        import history
        history.run(a, RELEASE, WORK, line)
        if a.only_history:
            write_chart()
            return
    if a.only_universe:
        import universe
        universe.run(a, RELEASE, WORK, line, best, settle)
        write_chart()
        return
    WORK.mkdir(parents=True, exist_ok=True)
    src = generate(a.rows, f"gen-{a.rows}/BENCH_full_1min_adjsplit.txt")
    big = generate(2 * a.rows, f"gen-{2 * a.rows}/BENCH_full_1min_adjsplit.txt")
    rows = a.rows
    print(f"barstore bench: {rows:,} rows, {src.stat().st_size / 2**20:.1f} MiB FirstRate-style file, "
          f"{os.cpu_count()} cores\n")
    if a.only_cql:
        cql_bench(a, cql_sources(a, src), a.repeat)
        write_chart()
        return

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
    line("barstore parse, 1 thread", rows / one["seconds"] / 1e6, base / 1e6, "M rows/s", False,
         baseline="pandas.read_csv + to_datetime")
    line("barstore parse, 2 threads", rows / two["seconds"] / 1e6, base / 1e6, "M rows/s", False,
         baseline="pandas.read_csv + to_datetime")
    line("  (pandas.read_csv without dates)", rows / one["seconds"] / 1e6, base_raw / 1e6,
         "M rows/s", False)

    print("\nload into the embedded store (CLI, fresh store each run)")
    results = {}
    for path, n in [(src, rows), (big, 2 * rows)]:
        runs = []
        for _ in range(3):
            store = WORK / "store"
            shutil.rmtree(store, ignore_errors=True)
            runs.append(timed_child(load_command(store, path)))
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
    subprocess.run(load_command(store, src), check=True, stderr=subprocess.DEVNULL)
    ours = rust("read", store, "BENCH", "--repeat", a.repeat)
    assert ours["rows"] == rows, ours
    files = sorted(str(p) for p in (store / "bars" / "symbol=BENCH").glob("timeframe=*/adjustment=*/year=*/*.parquet"))
    base = best(lambda: [pq.read_table(f) for f in files], a.repeat)
    line("barstore read (Rust, into columns)", ours["seconds"], base, "s",
         baseline="pyarrow read_table")

    print("\nfull-symbol read into pandas (s; baseline: pyarrow.parquet.read_table(...).to_pandas())")
    import barstore
    with barstore.connect(store) as s:
        ours = best(lambda: s.read("BENCH"), a.repeat)
    base = best(lambda: [pq.read_table(f).to_pandas() for f in files], a.repeat)
    line("barstore Store.read (DataFrame, local times)", ours, base, "s",
         baseline="pyarrow read_table().to_pandas()")

    print("\nchunk codecs for the chunked CQL layout (day chunks, one core; bit-exact round trip "
          "checked)")
    for path, tz in [(ROOT / "tests/data/AAPL_1min_sample_headerless.txt", "America/New_York"),
                     (ROOT / "tests/data/DBB_1min_2023-07-10_to_2025-07-08.csv", "UTC"), (src, "America/New_York")]:
        out = subprocess.run([RELEASE / "barstore-bench", "codecs", path, "--tz", tz], check=True,
                             capture_output=True, text=True).stdout
        import json
        for r in map(json.loads, out.splitlines()):
            print(f"  {r['data'][:24]:<24} {r['codec'][:44]:<44} {r['bytes_per_bar']:6.2f} B/bar "
                  f"encode {r['encode_mbars_s']:6.2f} M bars/s decode {r['decode_mbars_s']:6.2f} "
                  f"M bars/s {'exact' if r['exact'] else 'NOT EXACT'}")

    if not a.no_cql:
        cql_bench(a, cql_sources(a, src), a.repeat)
    if a.universe:
        import universe
        universe.run(a, RELEASE, WORK, line, best, settle)
    write_chart()


def cql_sources(a, src):
    return [src] + [generate(a.rows, f"gen-{a.rows}-{i}/SYM{i}_full_1min_adjsplit.txt", seed=i + 2)
                    for i in range(1, a.symbols)]


if __name__ == "__main__":
    main()
