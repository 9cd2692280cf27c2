"""barstore benchmarks, each beside a baseline measured in the same run.

Run through scripts/bench. Figures are best-of-N wall times on this machine; ratios
above 1 mean barstore is faster.
"""

import argparse
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
LOAD_RUNS = 3
COPY_RUNS = 2
WARMUP_READS = 8
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


def line(what, ours, base, unit, better_low=True):
    ratio = (base / ours) if better_low else (ours / base)
    print(f"  {what:<44} {ours:>12,.3f} {unit:<8} baseline {base:>12,.3f} {unit:<8} x{ratio:5.2f}")


def proc_cpu_seconds(pid):
    """CPU seconds (user + system) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
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

    def stop(self):
        subprocess.run([ROOT / "scripts/cassandra/stop", self.state], check=True)


def wait_compactions(session, limit=300):
    """Waits until the node runs no compaction (Cassandra's sstable_tasks view)."""
    for _ in range(limit):
        if not list(session.execute("SELECT * FROM system_views.sstable_tasks")):
            return
        time.sleep(1)
    sys.exit(f"compactions still running after {limit} s")


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


def cql_bench(args, files, repeat):
    """Loads into a real node: barstore beside cqlsh COPY; then reads into pandas."""
    import pandas as pd
    from cassandra.cluster import Cluster

    node = Node()
    try:
        host, port = node.addr.split(":")
        rows = args.rows * len(files)
        print(f"\nload into Cassandra 5 on this machine ({len(files)} symbols x {args.rows:,} rows, "
              "node heap 4 GiB, same 2 cores as the loader)")
        url = f"cql://{node.addr}/bench"
        cluster = Cluster([host], port=int(port))
        session = cluster.connect()
        # Warm the node's JIT first (both methods then run on the same warm node): the
        # load rate climbs for about 15M rows before it levels off.
        for i in range(WARMUP_LOADS):
            subprocess.run(load_command(f"cql://{node.addr}/warmup{i}", *files),
                           check=True, stderr=subprocess.DEVNULL)
            session.execute(f"DROP KEYSPACE warmup{i}")
        # Each run starts on a settled node (no compaction left from the one before) and
        # counts the node's CPU while it lasts.
        runs = []
        for i in range(LOAD_RUNS):
            keyspace = "bench" if i == 0 else f"bench_run{i}"  # the reads below use "bench"
            wait_compactions(session)
            cpu0 = node.cpu()
            url_i = f"cql://{node.addr}/{keyspace}"
            secs, _, loader_cpu = timed_child(load_command(url_i, *files))
            runs.append((secs, (node.cpu() - cpu0) / secs, loader_cpu / secs))
        for i in range(1, LOAD_RUNS):
            session.execute(f"DROP KEYSPACE bench_run{i}")
        secs, node_cores, loader_cores = min(runs)
        ours = rows / secs
        median = rows / sorted(runs)[len(runs) // 2][0]
        print(f"  barstore load (best of {LOAD_RUNS})      {secs:8.1f} s {ours:12,.0f} rows/s   "
              f"node CPU {node_cores:.2f} cores, loader CPU {loader_cores:.2f} cores "
              f"(median {median:,.0f} rows/s)")

        # Baseline: a Python pass adds symbol and month columns, then cqlsh COPY FROM.
        # the earlier notebook's table: the original text layout
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
        print(f"  barstore / COPY: x{ours / base:.2f}")

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
        # the read path has its own code to compile on the node, for both readers
        with barstore.connect(url) as warm:
            for _ in range(WARMUP_READS):
                warm.read(symbol)
        ref = best(lambda: reference_fetch(session, symbol, start, end, "bench", "bars_text",
                                           False, False), 2)
        with barstore.connect(text_url) as text_store, barstore.connect(url) as typed_store:
            n = len(text_store.read(symbol))
            ours_text = best(lambda: text_store.read(symbol), repeat)
            cpu0 = node.cpu()
            ours_typed = best(lambda: typed_store.read(symbol), repeat)
            node_per_read = (node.cpu() - cpu0) / repeat
        print(f"  reference reader (Python driver, month by month, text layout) {ref:8.2f} s "
              f"({n:,} rows)")
        line("barstore Store.read, same text-layout table", ours_text, ref, "s")
        line("barstore Store.read, typed table", ours_typed, ref, "s")
        cores = os.cpu_count()
        print(f"  node CPU per typed read: {node_per_read:.2f} CPU-s: with the node on all "
              f"{cores} cores these queries need {node_per_read / cores:.2f} s at least "
              f"(x{ref * cores / node_per_read:.1f} the reference at most)")
        cluster.shutdown()
    finally:
        node.stop()


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
    a = ap.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    src = generate(a.rows, f"gen-{a.rows}/BENCH_full_1min_adjsplit.txt")
    big = generate(2 * a.rows, f"gen-{2 * a.rows}/BENCH_full_1min_adjsplit.txt")
    rows = a.rows
    print(f"barstore bench: {rows:,} rows, {src.stat().st_size / 2**20:.1f} MiB FirstRate-style file, "
          f"{os.cpu_count()} cores\n")
    if a.only_cql:
        cql_bench(a, cql_sources(a, src), a.repeat)
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
    files = sorted(str(p) for p in (store / "bars" / "symbol=BENCH").glob("timeframe=*/adjustment=*/year=*/data.parquet"))
    base = best(lambda: [pq.read_table(f) for f in files], a.repeat)
    line("barstore read (Rust, into columns)", ours["seconds"], base, "s")

    print("\nfull-symbol read into pandas (s; baseline: pyarrow.parquet.read_table(...).to_pandas())")
    import barstore
    with barstore.connect(store) as s:
        ours = best(lambda: s.read("BENCH"), a.repeat)
    base = best(lambda: [pq.read_table(f).to_pandas() for f in files], a.repeat)
    line("barstore Store.read (DataFrame, local times)", ours, base, "s")

    if not a.no_cql:
        cql_bench(a, cql_sources(a, src), a.repeat)


def cql_sources(a, src):
    return [src] + [generate(a.rows, f"gen-{a.rows}-{i}/SYM{i}_full_1min_adjsplit.txt", seed=i + 2)
                    for i in range(1, a.symbols)]


if __name__ == "__main__":
    main()
