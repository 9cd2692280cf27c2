"""barstore: minute bars (OHLCV) in an embedded Parquet store or ScyllaDB/Cassandra,
read back as pandas DataFrames.

>>> import barstore
>>> with barstore.connect() as store:                      # ./barstore-data
...     store.load(["AAPL_full_1min_adjsplit.txt"])
...     df = store.read("AAPL", "2024-05-01", "2024-05-03", session="regular")

``connect("cql://host/keyspace")`` uses a ScyllaDB or Cassandra cluster instead.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd
import pyarrow as pa

from . import _native
from ._errors import (ConnectionError, Error, FileError, InputError, OpenError, OptionError,
                      ReadError, SchemaError, StoreError)

__all__ = [
    "connect",
    "fetch_minute_data",
    "sessions",
    "Store",
    "LoadReport",
    "ActionsReport",
    "VerifyReport",
    "Error",
    "InputError",
    "ConnectionError",
    "SchemaError",
    "OptionError",
    "OpenError",
    "FileError",
    "ReadError",
    "StoreError",
]

COLUMNS = ["open", "high", "low", "close", "volume"]
CHECK_COLUMNS = ["symbol", "timeframe", "adjustment", "date", "trading", "close", "expected",
                 "present", "missing", "missing_runs", "outside", "zero_volume", "flat", "jumps",
                 "split", "flagged", "findings"]


@dataclasses.dataclass(frozen=True)
class LoadReport:
    """What a load did. ``failed`` lists ``(file, reason)`` of files not loaded at all;
    rejected rows are in ``error_log`` (JSON lines: file, line, raw, reason)."""

    files: int
    loaded: int
    skipped: int
    failed: list[tuple[str, str]]
    rows: int
    rejected: int
    warnings: int
    seconds: float
    error_log: str | None


@dataclasses.dataclass(frozen=True)
class ActionsReport:
    """What loading an actions file did: rows read, actions stored for the first time,
    actions whose value changed (the old one kept in the history), actions already
    stored as they are, and the rejected rows as ``(line, reason)``."""

    rows: int
    added: int
    changed: int
    unchanged: int
    rejected: list[tuple[int, str]]


@dataclasses.dataclass(frozen=True)
class VerifyReport:
    """How the store compares with source files, one row per series (symbol, timeframe,
    adjustment) in ``series``."""

    identical: bool
    series: pd.DataFrame
    failed: list[tuple[str, str]]


class _ArrowStream:
    """Hands a native Arrow C stream capsule to pyarrow (PyCapsule interface)."""

    def __init__(self, capsule: Any) -> None:
        self._capsule = capsule

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
        return self._capsule


def _progress_bar(enabled: bool):
    """A callback drawing a tqdm bar (notebook or terminal) or a plain stderr line."""
    if not enabled:
        return None, lambda: None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        tqdm = None
    state: dict[str, Any] = {}

    def update(p: dict[str, int]) -> None:
        if tqdm is not None:
            bar = state.get("bar")
            if bar is None:
                bar = state["bar"] = tqdm(total=p["total_bytes"], unit="B", unit_scale=True,
                                          desc="loading")
            bar.update(p["bytes"] - bar.n)
            bar.set_postfix(files=f"{p['files']}/{p['total_files']}", rows=p["rows"],
                            refresh=False)
        elif sys.stderr.isatty():
            pct = 100 * p["bytes"] / max(p["total_bytes"], 1)
            print(f"\rloading {pct:5.1f}%  files {p['files']}/{p['total_files']}  "
                  f"rows {p['rows']:,}", end="", file=sys.stderr, flush=True)

    def close() -> None:
        if state.get("bar") is not None:
            state["bar"].close()
        elif tqdm is None and sys.stderr.isatty():
            print(file=sys.stderr)

    return update, close


def _paths(paths: str | os.PathLike | Iterable[str | os.PathLike]) -> list[str]:
    """One path or several, as strings with ``~`` expanded."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    return [os.path.expanduser(os.fspath(p)) for p in paths]


def _input(pattern: str | None, format: str | None, tz: str | None, timeframe: str | None,
           adjustment: str | None, jobs: int | None) -> dict[str, Any]:
    """The input options ``load`` and ``verify`` share; ``None`` takes barstore's default."""
    return {"pattern": pattern, "format": format, "tz": tz, "timeframe": timeframe,
            "adjustment": adjustment, "jobs": jobs}


def _time(t: Any) -> str | None:
    """A bound as barstore reads it: a date or 'YYYY-MM-DD HH:MM:SS'."""
    if t is None:
        return None
    if isinstance(t, str):
        return t
    ts = pd.Timestamp(t)
    return ts.strftime("%Y-%m-%d %H:%M:%S")


def _slice(start: Any, end: Any, session: str | None, round: int | None,
           resample: str | None, tz: str | None, timeframe: str | None,
           adjustment: str | None, calendar: str | None, adjust: str | None = None,
           as_of: Any = None) -> dict[str, Any]:
    """What to read of each symbol, as the native module takes it."""
    return {"start": _time(start), "end": _time(end), "session": session, "round": round,
            "resample": resample, "tz": tz, "timeframe": timeframe, "adjustment": adjustment,
            "calendar": calendar, "adjust": adjust, "as_of": _time(as_of)}


def _long_frame(table: pa.Table) -> pd.DataFrame:
    """A long table whose symbol and timestamp columns are dictionary-encoded (the
    timestamps over their sorted union) as a frame on a (symbol, timestamp) MultiIndex
    built from the codes, with no factorising in pandas."""
    symbols = table.column("symbol").combine_chunks()
    times = table.column("timestamp").combine_chunks()
    levels = pd.DatetimeIndex(times.dictionary.to_pandas(coerce_temporal_nanoseconds=True))
    # one consolidated block: a copy (pandas 2 cannot write into Arrow's buffers) that
    # costs less than pandas' own later consolidation
    df = table.drop_columns(["symbol", "timestamp"]).to_pandas()
    df.index = pd.MultiIndex(
        levels=[pd.Index(symbols.dictionary.to_pylist(), dtype=object), levels],
        codes=[symbols.indices.to_numpy(zero_copy_only=False),
               times.indices.to_numpy(zero_copy_only=False)],
        names=["symbol", "timestamp"], verify_integrity=False)
    return df


def _columns(df: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    """``df`` with ``cols``: itself when they are all, in order (selecting copies every
    value under pandas 2)."""
    return df if cols == list(df.columns) else df[cols]


def _is_one(symbols: Any) -> bool:
    """A single symbol (a frame indexed by time alone), not a list, None or "*"."""
    return isinstance(symbols, str) and symbols != "*"


class Store:
    """A barstore store. Use :func:`connect` to open one; usable as a context manager."""

    def __init__(self, native: Any) -> None:
        self._native = native

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"barstore.Store({self.location!r})"

    @property
    def location(self) -> str:
        """The store's directory or URL."""
        return self._native.location()

    def close(self) -> None:
        """Releases the store (its write lock, its connections)."""
        self._native = None

    def load(self, paths: str | os.PathLike | Iterable[str | os.PathLike], *,
             pattern: str | None = None, format: str | None = None, tz: str | None = None,
             timeframe: str | None = None, adjustment: str | None = None,
             jobs: int | None = None, force: bool = False, progress: bool = True,
             errors: str | os.PathLike | None = None) -> LoadReport:
        """Loads bar files or directories (plain, .gz, .zip). Each file feeds one series:
        its timeframe is ``timeframe``, else named in the file name (``AAPL_full_5min_...``),
        else the spacing of its bars; its adjustment is ``adjustment``, else named in the
        file name (``adjsplit``, ``adjsplitdiv``, ``unadjusted``), else ``none``. Times are
        wall-clock in ``tz`` (default America/New_York). The GIL is released while
        loading; Ctrl-C stops at the next batch and keeps completed files, so running
        the same load again resumes."""
        update, close = _progress_bar(progress)
        try:
            r = self._native.load(_paths(paths),
                                  _input(pattern, format, tz, timeframe, adjustment, jobs),
                                  force=force,
                                  errors=None if errors is None else os.fspath(errors),
                                  progress=update)
        finally:
            close()
        return LoadReport(**r)

    def read_arrow(self, symbols: str | Sequence[str] | None, start: Any = None,
                   end: Any = None, *, session: str | None = None, round: int | None = None,
                   resample: str | None = None, tz: str | None = None,
                   timeframe: str | None = None, adjustment: str | None = None,
                   calendar: str | None = None, pivot: str | None = None,
                   missing: str = "error", adjust: str | None = None,
                   as_of: Any = None) -> pa.Table:
        """Bars as a ``pyarrow.Table`` on Rust's buffers (not copied). One symbol gives
        ``timestamp`` and the five values; a list (``None`` or ``"*"``: every stored
        symbol) adds a dictionary-encoded ``symbol`` column first, sorted by symbol then
        time, or with ``pivot`` one column per symbol (see :meth:`read`)."""
        sel = _slice(start, end, session, round, resample, tz, timeframe, adjustment,
                     calendar, adjust, as_of)
        return self._table(symbols, sel, pivot, missing, "long")

    def _table(self, symbols: Any, sel: dict[str, Any], pivot: str | None, missing: str,
               form: str) -> pa.Table:
        """One symbol's table, or a many-symbol one in ``form`` (see :meth:`_panel`)."""
        if _is_one(symbols) and pivot is None:
            capsule = self._native.read_arrow(symbols, sel)
        else:
            capsule = self._panel(symbols, sel, pivot, missing, form)
        return pa.table(_ArrowStream(capsule))

    def read_batches(self, symbols: str | Sequence[str] | None = None, start: Any = None,
                     end: Any = None, *, session: str | None = None,
                     round: int | None = None, resample: str | None = None,
                     tz: str | None = None, timeframe: str | None = None,
                     adjustment: str | None = None, calendar: str | None = None,
                     missing: str = "error", adjust: str | None = None,
                     as_of: Any = None) -> pa.RecordBatchReader:
        """The long table of :meth:`read_arrow` as a ``pyarrow.RecordBatchReader`` that
        reads a few symbols per batch, for results larger than memory (every symbol for
        a year): memory holds one batch, whatever the number of symbols."""
        sel = _slice(start, end, session, round, resample, tz, timeframe, adjustment,
                     calendar, adjust, as_of)
        capsule = self._panel(symbols, sel, None, missing, "batches")
        return pa.RecordBatchReader.from_stream(_ArrowStream(capsule))

    def _panel(self, symbols: Any, sel: dict[str, Any], pivot: str | None, missing: str,
               form: str) -> Any:
        """A many-symbol read in native code: the Arrow stream capsule, after warning of
        the symbols left out."""
        if missing not in ("error", "skip"):
            raise InputError(f"missing={missing!r}: use 'error' or 'skip'")
        if symbols is None or symbols == "*":
            names = None
        elif isinstance(symbols, str):
            names = [symbols]
        else:
            names = list(symbols)
            if not names:
                raise InputError("no symbols given")
        capsule, skipped = self._native.read_panel(names, sel, pivot, missing == "skip",
                                                   form)
        if skipped:
            warnings.warn(f"skipped {len(skipped)} symbols not in the store: "
                          f"{', '.join(skipped[:20])}{' ...' if len(skipped) > 20 else ''}",
                          stacklevel=3 if form == "batches" else 4)  # the caller's line
        return capsule

    def read(self, symbols: str | Sequence[str] | None, start: Any = None, end: Any = None,
             *, session: str | None = None, round: int | None = None,
             resample: str | None = None, tz: str | None = None,
             columns: Sequence[str] | None = None, timeframe: str | None = None,
             adjustment: str | None = None, calendar: str | None = None,
             pivot: str | None = None, missing: str = "error", adjust: str | None = None,
             as_of: Any = None) -> pd.DataFrame:
        """Bars as a DataFrame indexed by ``timestamp`` (exchange wall-clock, naive; aware
        in ``tz`` when given), float64 columns open high low close volume, sorted.

        A list of symbols (``None`` or ``"*"``: every stored symbol) is read in parallel
        in native code and gives a ``(symbol, timestamp)`` MultiIndex, sorted by symbol
        then time; ``pivot="close"`` (or any value column) gives instead a frame of
        timestamps x symbols on the union of their timestamps, NaN where a symbol has no
        bar. Symbols not stored raise :class:`InputError` naming them all, or with
        ``missing="skip"`` are left out with a warning.

        Each symbol's series is the one in ``timeframe`` (default: the finest stored)
        and ``adjustment`` (default: the only one stored; an error lists them when
        several are).

        ``start``/``end`` are inclusive (a date alone means the whole day for ``end``);
        ``session="regular"`` keeps the exchange's regular session (09:30 <= t < 16:00,
        13:00 on early closes, nothing on holidays; ``calendar`` "us" or "plain", default
        us for America/New_York symbols, else plain); ``resample`` takes 5min, 15min,
        1h, 1d...; ``round`` rounds half to even like ``DataFrame.round``. Each applies
        to every symbol as to a read of that symbol alone.

        ``adjust="split"`` (or ``"split+div"``) adjusts a raw series for the corporate
        actions loaded with :meth:`load_actions`, before the session filter, resampling
        and rounding; ``as_of`` (a date) takes only the actions with an ex-date up to it,
        in the versions loaded by then, so a read made that day can be made again."""
        cols = list(columns) if columns is not None else COLUMNS
        unknown = set(cols) - set(COLUMNS)
        if unknown:
            raise InputError(f"unknown columns {sorted(unknown)}: choose from {COLUMNS}")
        sel = _slice(start, end, session, round, resample, tz, timeframe, adjustment,
                     calendar, adjust, as_of)
        table = self._table(symbols, sel, pivot, missing, "indexed")
        if pivot is None and not _is_one(symbols):
            return _columns(_long_frame(table), cols)
        df = table.to_pandas(coerce_temporal_nanoseconds=True, split_blocks=True,
                             self_destruct=True).set_index("timestamp")
        if pivot is not None:
            df.columns.name = "symbol"
            return df
        return _columns(df, cols)

    def load_actions(self, path: str | os.PathLike, *,
                     calendar: str | None = None) -> ActionsReport:
        """Loads splits and dividends from a CSV whose header names ``symbol,ex_date`` and
        ``split_from,split_to`` (a 4-for-1 split is ``AAPL,2020-08-31,1,4``) and/or
        ``dividend`` (cash per share), optionally ``source``. Rows already stored change
        nothing; a changed row replaces the stored one, which stays in the history for
        ``as_of`` reads. Bad rows are reported in ``rejected`` as (line, reason) while
        the good ones load; ex-dates must be trading days of ``calendar`` (default us)."""
        rows, added, changed, unchanged, rejected = self._native.load_actions(
            os.fspath(path), calendar)
        return ActionsReport(rows, added, changed, unchanged, rejected)

    def actions(self, symbol: str | None = None, *, history: bool = False) -> pd.DataFrame:
        """The stored corporate actions (of ``symbol``, or all), one row each: symbol,
        ex_date, kind (split or dividend), split_from, split_to, dividend, source and
        recorded (when the version was loaded, UTC); only the versions in effect unless
        ``history``."""
        rows = self._native.actions(symbol, history)
        df = pd.DataFrame(rows, columns=["symbol", "ex_date", "kind", "split_from",
                                         "split_to", "dividend", "source", "recorded"])
        df["ex_date"] = pd.to_datetime(df["ex_date"])
        df["recorded"] = pd.to_datetime(df["recorded"], unit="ms", utc=True)
        return df

    def copy_to(self, target: "Store | str", symbols: Sequence[str] = (), *,
                force: bool = False) -> dict[str, int]:
        """Copies every series of some symbols (all by default) to another store, e.g. from a table in the
        original text layout to the chunked one, or from the embedded store to a
        cluster. Resumable: months already copied are skipped unless ``force``."""
        if isinstance(target, str):
            target = connect(target)
        n, months, skipped, rows = self._native.copy_to(target._native, list(symbols), force)
        return {"series": n, "months": months, "skipped": skipped, "rows": rows}

    def symbols(self) -> pd.DataFrame:
        """Stored series, one row each: symbol, timeframe, adjustment, rows, first and
        last bar (exchange time) and time zone."""
        rows = self._native.symbols()
        df = pd.DataFrame(rows, columns=["symbol", "timeframe", "adjustment", "rows", "first",
                                         "last", "tz"])
        for c in ("first", "last"):
            df[c] = pd.to_datetime(df[c], unit="ms")
        return df

    def check(self, symbols: str | Sequence[str], start: Any = None, end: Any = None, *,
              timeframe: str | None = None, adjustment: str | None = None,
              calendar: str | None = None) -> pd.DataFrame:
        """Checks series day by day against the exchange calendar (``calendar`` "us" or
        "plain"; default us for America/New_York symbols). One row per symbol and day:
        every trading day of the range and every closed day that holds bars, with
        ``expected`` and ``present`` regular bars, ``missing`` and ``missing_runs``
        (``HH:MM-HH:MM``), ``outside`` (bars outside the session), ``zero_volume``,
        ``flat``, ``jumps`` (``spike 11:00 +30.0%``), ``split`` (``2:1`` when the
        overnight gap looks like an unadjusted split), ``flagged`` and ``findings``."""
        names = [symbols] if isinstance(symbols, str) else list(symbols)
        rows = []
        for symbol in names:
            sel = _slice(start, end, None, None, None, None, timeframe, adjustment,
                           calendar)
            report = json.loads(self._native.check(symbol, sel))
            for day in report["days"]:
                rows.append({
                    "symbol": report["symbol"],
                    "timeframe": report["timeframe"],
                    "adjustment": report["adjustment"],
                    "date": day["date"],
                    "trading": day["trading"],
                    "close": day["close"],
                    "expected": day["expected"],
                    "present": day["present"],
                    "missing": day["missing"],
                    "missing_runs": [r["from"] if r["bars"] == 1 else f"{r['from']}-{r['to']}"
                                     for r in day["missing_runs"]],
                    "outside": day["outside"],
                    "zero_volume": day["zero_volume"],
                    "flat": day["flat"],
                    "jumps": [f"{j['kind']} {j['time']} {j['change'] * 100:+.1f}%"
                              for j in day["jumps"]],
                    "split": day["split"]["looks_like"] if day["split"] else None,
                    "flagged": day["flagged"],
                    "findings": "; ".join(day["findings"]),
                })
        df = pd.DataFrame(rows, columns=CHECK_COLUMNS)
        df["date"] = pd.to_datetime(df["date"])
        df["expected"] = df["expected"].astype("Int64")
        return df

    def verify(self, paths: str | os.PathLike | Iterable[str | os.PathLike], *,
               pattern: str | None = None, format: str | None = None, tz: str | None = None,
               timeframe: str | None = None, adjustment: str | None = None,
               jobs: int | None = None) -> VerifyReport:
        """Re-reads the files (with the options of their load) and compares every bar of
        every series with the store."""
        identical, rows, failed = self._native.verify(
            _paths(paths), _input(pattern, format, tz, timeframe, adjustment, jobs))
        df = pd.DataFrame(rows, columns=["symbol", "timeframe", "adjustment", "source_rows",
                                         "store_rows", "missing", "extra", "different"])
        return VerifyReport(identical, df, failed)


def connect(url: str | os.PathLike | None = None, **options: Any) -> Store:
    """Opens a store: a directory (default ``$BARSTORE_STORE`` or ``./barstore-data``)
    for the embedded store, or ``cql://host[:port][,host...]/keyspace[?table=NAME]`` for
    ScyllaDB/Cassandra. Options: user, password (default ``$BARSTORE_CQL_PASSWORD``),
    tls, tls_ca, tls_cert and tls_key (a client certificate and its private key, PEM
    files, for clusters that require client authentication), dc, consistency,
    replication, compaction, attempts."""
    if url is None:
        url = os.environ.get("BARSTORE_STORE", "barstore-data")
    options.setdefault("password", os.environ.get("BARSTORE_CQL_PASSWORD"))
    return Store(_native.NativeStore(os.fspath(url), **options))


def sessions(start: Any, end: Any, calendar: str = "us") -> pd.DataFrame:
    """The trading days of an exchange calendar (``us``: NYSE/Nasdaq holidays, early
    closes and special closures; ``plain``: every weekday) between two dates, inclusive:
    indexed by ``date``, with the regular session's ``open`` and ``close`` as exchange
    wall-clock timestamps."""
    days = _native.sessions(str(pd.Timestamp(start).date()), str(pd.Timestamp(end).date()),
                            calendar)
    index = pd.DatetimeIndex([d for d, _, _ in days], name="date")
    return pd.DataFrame({
        "open": index + pd.to_timedelta([o for _, o, _ in days], unit="s"),
        "close": index + pd.to_timedelta([c for _, _, c in days], unit="s"),
    }, index=index)


def fetch_minute_data(symbol: str, start_time: Any, end_time: Any, KEYSPACE: str,
                      TABLE: str, trading_hours_only: bool, rounding: bool, *,
                      hosts: Sequence[str] = ("127.0.0.1",), port: int = 9042,
                      exchange_calendar: bool = False) -> pd.DataFrame:
    """Drop-in replacement for the notebook reader of the same name: the bars of
    ``symbol`` with ``start_time <= timestamp <= end_time`` from ``KEYSPACE.TABLE``
    (the original text layout, or barstore's chunked or typed one), indexed by ``timestamp``,
    float64 columns open high low close volume; ``trading_hours_only`` keeps
    09:30:00-16:00:00 inclusive (``between_time``) on every date, or with
    ``exchange_calendar=True`` the exchange's regular session (09:30 <= t < close, 13:00
    on early closes, nothing on holidays); ``rounding`` rounds to 4 decimals.
    Reads the symbol's 1min series; the index is ``datetime64[ns]``, as the notebook's
    ``astype('datetime64[ns]')`` made it, whatever the pandas version."""
    url = f"cql://{','.join(f'{h}:{port}' for h in hosts)}/{KEYSPACE}?table={TABLE}&layout=auto"
    store = _fetch_stores.get(url)
    if store is None:
        store = _fetch_stores[url] = connect(url)
    start, end = pd.Timestamp(start_time), pd.Timestamp(end_time)
    regular = trading_hours_only and exchange_calendar
    df = store.read(symbol, _time(start), _time(end), timeframe="1min",
                    session="regular" if regular else None)
    df.index = df.index.as_unit("ns")
    if trading_hours_only and not regular:
        df = df.between_time("09:30:00", "16:00:00")
    if rounding:
        df = df.round(4)
    return df


_fetch_stores: dict[str, Store] = {}

