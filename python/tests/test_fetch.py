"""fetch_minute_data against a reference written with the Python driver, the way the
notebook's reader worked, on a table created in the original layout on the real node."""

import pandas as pd
import pandas.testing as pdt
import pytest
from cassandra.cluster import Cluster
from cassandra.concurrent import execute_concurrent_with_args

import barstore
from conftest import cql_node, fresh_keyspace


def reference_fetch(session, symbol, start_time, end_time, keyspace, table,
                    trading_hours_only, rounding):
    """One query per month bucket, rows into a DataFrame indexed as the notebook did
    (``astype('datetime64[ns]')`` on the text column), between_time, round(4)."""
    start, end = pd.Timestamp(start_time), pd.Timestamp(end_time)
    rows = []
    for bucket in pd.period_range(start, end, freq="M").strftime("%Y-%m"):
        rows.extend(session.execute(
            f"SELECT timestamp, open, high, low, close, volume FROM {keyspace}.{table} "
            "WHERE symbol = %s AND bucket = %s AND timestamp >= %s AND timestamp <= %s",
            (symbol, bucket, start.strftime("%Y-%m-%d %H:%M:%S"),
             end.strftime("%Y-%m-%d %H:%M:%S"))))
    df = pd.DataFrame(rows, columns=["timestamp", "open", "high", "low", "close", "volume"])
    df["timestamp"] = df["timestamp"].astype("datetime64[ns]")
    df = df.set_index("timestamp").astype("float64")
    if trading_hours_only:
        df = df.between_time("09:30:00", "16:00:00")
    if rounding:
        df = df.round(4)
    return df


@pytest.fixture(scope="module")
def original_table():
    """AAPL's sample in a table made with the notebook's CQL."""
    node = cql_node()
    host, port = node.rsplit(":", 1)
    cluster = Cluster([host], port=int(port))
    session = cluster.connect()
    session.default_timeout = 120
    ks = fresh_keyspace()
    session.execute(f"CREATE KEYSPACE {ks} WITH replication = "
                    "{'class': 'SimpleStrategy', 'replication_factor': 1}")
    session.execute(f"CREATE TABLE {ks}.minute_bars (symbol text, bucket text, timestamp text, "
                    "open float, high float, low float, close float, volume float, "
                    "PRIMARY KEY ((symbol, bucket), timestamp))")
    src = pd.read_csv(barstore_data() / "AAPL_1min_sample.csv")
    insert = session.prepare(f"INSERT INTO {ks}.minute_bars (symbol, bucket, timestamp, open, "
                             "high, low, close, volume) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
    args = [("AAPL", t[:7], t, o, h, l, c, float(v))
            for t, o, h, l, c, v in src.itertuples(index=False)]
    execute_concurrent_with_args(session, insert, args, concurrency=64, raise_on_first_error=True)
    yield host, int(port), ks, session
    session.execute(f"DROP KEYSPACE IF EXISTS {ks}")
    cluster.shutdown()


def barstore_data():
    from conftest import DATA
    return DATA


WINDOWS = [
    ("2024-04-29 00:00:00", "2024-05-13 23:59:59", False, False),
    ("2024-04-30 09:00:00", "2024-05-02 16:30:00", True, True),
    ("2024-05-01 09:30:00", "2024-05-01 16:00:00", True, False),
    ("2024-04-29 15:59:00", "2024-05-01 04:10:00", False, True),
]


@pytest.mark.parametrize("start,end,hours,rounding", WINDOWS)
def test_fetch_equals_the_reference_on_the_original_layout(original_table, start, end, hours,
                                                           rounding):
    host, port, ks, session = original_table
    want = reference_fetch(session, "AAPL", start, end, ks, "minute_bars", hours, rounding)
    got = barstore.fetch_minute_data("AAPL", start, end, ks, "minute_bars", hours, rounding,
                                     hosts=(host,), port=port)
    assert len(want) > 0
    assert str(got.index.dtype) == "datetime64[ns]"
    pdt.assert_frame_equal(got, want)


def test_fetch_equals_the_reference_on_the_typed_layout(original_table):
    host, port, ks, session = original_table
    with barstore.connect(f"cql://{host}:{port}/{ks}?table=minute_bars&layout=text") as old:
        copied = old.copy_to(f"cql://{host}:{port}/{ks}?table=bars_1m")
    assert (copied.series, copied.months, copied.rows) == (1, 2, 8507)
    # a 5-minute series of the same symbol beside it: fetch_minute_data reads the 1min one
    with barstore.connect(f"cql://{host}:{port}/{ks}?table=bars_1m") as typed:
        five = typed.load(barstore_data() / "AAPL_5min_sample.csv", progress=False)
        assert (five.loaded, five.rows) == (1, 2046)
        assert list(typed.symbols()["timeframe"]) == ["1min", "5min"]
    start, end = "2024-04-30 09:00:00", "2024-05-03 16:30:00"
    want = reference_fetch(session, "AAPL", start, end, ks, "minute_bars", True, True)
    got = barstore.fetch_minute_data("AAPL", pd.Timestamp(start), end, ks, "bars_1m", True, True,
                                     hosts=(host,), port=port)
    pdt.assert_frame_equal(got, want)


def test_fetch_with_the_exchange_calendar_keeps_the_session_without_the_close_bar(original_table):
    host, port, ks, session = original_table
    start, end = "2024-04-30 00:00:00", "2024-05-02 23:59:59"
    notebook = barstore.fetch_minute_data("AAPL", start, end, ks, "minute_bars", True, False,
                                          hosts=(host,), port=port)
    calendar = barstore.fetch_minute_data("AAPL", start, end, ks, "minute_bars", True, False,
                                          hosts=(host,), port=port, exchange_calendar=True)
    # full days: the notebook's rule also keeps each 16:00 bar (after the close)
    assert len(notebook) == 3 * 391 and len(calendar) == 3 * 390
    assert (calendar.index.strftime("%H:%M") != "16:00").all()
    pdt.assert_frame_equal(calendar, notebook[notebook.index.strftime("%H:%M") != "16:00"])
