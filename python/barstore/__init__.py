"""barstore: minute bars (OHLCV) in an embedded Parquet store or ScyllaDB/Cassandra,
read back as pandas DataFrames.

>>> import barstore
>>> with barstore.connect() as store:                      # ./barstore-data
...     store.load(["AAPL_full_1min_adjsplit.txt"])
...     df = store.read("AAPL", "2024-05-01", "2024-05-03", session="regular")

``connect("cql://host/keyspace")`` uses a ScyllaDB or Cassandra cluster instead.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd
import pyarrow as pa

from . import _native
from ._convert import (COLUMNS, _ArrowStream, _as_of, _columns, _frame, _input, _is_one,
                       _long_frame, _paths, _progress_bar, _report, _slice, _time_indexed)
from ._notebook import fetch_minute_data
from ._reports import ActionsReport, CopyReport, LoadReport, VerifyReport
from ._errors import (ConnectionError, Error, FileError, InputError, OpenError, OptionError,
                      ReadError, SchemaError, StoreError)

__all__ = [
    "connect",
    "fetch_minute_data",
    "sessions",
    "Store",
    "LoadReport",
    "ActionsReport",
    "CopyReport",
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
        """Releases the store (its connections, its caches)."""
        self._native = None

    def load(self, paths: str | os.PathLike | Iterable[str | os.PathLike], *,
             pattern: str | None = None, format: str | None = None, tz: str | None = None,
             timeframe: str | None = None, adjustment: str | None = None,
             jobs: int | None = None, force: bool = False, progress: bool = True,
             errors: str | os.PathLike | None = None, epoch_unit: str | None = None,
             years: str | None = None) -> LoadReport:
        """Loads bar files or directories (plain, .gz, .zip). Each file feeds one series:
        its timeframe is ``timeframe``, else named in the file name (``AAPL_full_5min_...``),
        else the spacing of its bars; its adjustment is ``adjustment``, else named in the
        file name (``adjsplit``, ``adjsplitdiv``, ``unadjusted``), else ``none``. Times are
        wall-clock in ``tz`` (default America/New_York); epoch numbers are in
        ``epoch_unit`` (``s``, ``ms``, ``us``, ``ns``; default: their magnitude says), and
        rows outside ``years`` (``"1900..2100"``) are rejected. The GIL is released while
        loading; Ctrl-C stops at the next batch and keeps completed files, so running
        the same load again resumes."""
        update, close = _progress_bar(progress)
        try:
            r = self._native.load(_paths(paths),
                                  _input(pattern, format, tz, timeframe, adjustment, jobs,
                                         epoch_unit, years),
                                  force=force,
                                  errors=None if errors is None else os.fspath(errors),
                                  progress=update)
        finally:
            close()
        return _report(LoadReport, r)

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
        time, or with ``pivot`` one column per symbol (see :meth:`read`, also for
        ``as_of``)."""
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
        a year): memory holds one batch, whatever the number of symbols. Every batch
        comes from the one version the stream started on (the latest, or ``as_of``, see
        :meth:`read`), whatever loads commit while it is read."""
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
        and rounding.

        A read sees one committed version of the store from start to end: the latest,
        or the one ``as_of`` names, to read again what a read saw then:

        - a version number (``12``, see :meth:`history`);
        - a snapshot name (``"eod-2026-11-02"``, see :meth:`snapshot`);
        - a date (``"2026-11-02"``, a ``datetime.date`` or a midnight ``pd.Timestamp``):
          the store as committed by the end of that day, UTC;
        - a time: an aware ``datetime``/``pd.Timestamp`` or a string with ``Z`` or an
          offset (``"2026-11-02T15:30:00Z"``); a naive time of day is refused.

        Corporate actions are taken as known then: recorded by then, with an ex-date up
        to that day. A CQL store keeps no versions of its bars: there a date or time
        applies to the actions alone, and a version number or a name is refused."""
        cols = list(columns) if columns is not None else COLUMNS
        unknown = set(cols) - set(COLUMNS)
        if unknown:
            raise InputError(f"unknown columns {sorted(unknown)}: choose from {COLUMNS}")
        sel = _slice(start, end, session, round, resample, tz, timeframe, adjustment,
                     calendar, adjust, as_of)
        table = self._table(symbols, sel, pivot, missing, "indexed")
        if pivot is None and not _is_one(symbols):
            return _columns(_long_frame(table), cols)
        df = _time_indexed(table)
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
        return _report(ActionsReport, self._native.load_actions(os.fspath(path), calendar))

    def actions(self, symbol: str | None = None, *, history: bool = False) -> pd.DataFrame:
        """The stored corporate actions (of ``symbol``, or all), one row each: symbol,
        ex_date, kind (split or dividend), split_from, split_to, dividend, source and
        recorded (when the version was loaded, UTC); only the versions in effect unless
        ``history``."""
        return _frame(self._native.actions(symbol, history))

    def copy_to(self, target: "Store | str", symbols: Sequence[str] = (), *,
                force: bool = False) -> CopyReport:
        """Copies every series of some symbols (all by default) to another store, e.g. from a table in the
        original text layout to the chunked one, or from the embedded store to a
        cluster. Resumable: months copied before and unchanged in this store since are
        skipped unless ``force``; months that gained or changed bars are copied again."""
        if isinstance(target, str):
            target = connect(target)
        return _report(CopyReport, self._native.copy_to(target._native, list(symbols), force))

    def symbols(self) -> pd.DataFrame:
        """Stored series, one row each: symbol, timeframe, adjustment, rows, first and
        last bar (exchange time) and time zone."""
        return _frame(self._native.symbols())

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
        sel = _slice(start, end, None, None, None, None, timeframe, adjustment, calendar)
        return _frame(self._native.check(names, sel))

    def compact(self) -> int:
        """Merges the files daily appends added to the embedded store into one per
        year, in one commit; returns how many years it rewrote (0 on a CQL store, which
        appends in place). Older versions keep their files for ``as_of`` reads."""
        return self._native.compact()

    def history(self, limit: int | None = None) -> pd.DataFrame:
        """The embedded store's versions, newest first (at most ``limit``), one row each:
        ``version``, ``time`` (of the commit, UTC), ``operation`` (load, compact,
        upgrade, or another engine's), ``series`` written, ``rows`` and ``files_added``
        in the files it added, ``files_replaced``, ``sources`` (input files it
        completed) and ``snapshots`` (the names pinning it, a list). Any ``version``
        can be read with ``as_of``. A CQL store raises :class:`StoreError`: it keeps no
        versions."""
        return _frame(self._native.history(limit))

    def snapshot(self, name: str, as_of: Any = None) -> int:
        """Names a version of the embedded store (the latest, or the one ``as_of`` names,
        as :meth:`read` takes it) so that reads can ask for it by ``name``; returns that
        version. Names are 1 to 64 letters, digits, ``.``, ``_`` or ``-``, starting with
        a letter; a name already given is refused. A CQL store raises
        :class:`StoreError`."""
        return self._native.snapshot(name, _as_of(as_of))

    def snapshots(self) -> pd.DataFrame:
        """The embedded store's snapshots by name, one row each: ``name``, ``version``
        and ``created`` (when the name was given, UTC). A CQL store raises
        :class:`StoreError`."""
        return _frame(self._native.snapshots())

    def delete_snapshot(self, name: str) -> None:
        """Removes a snapshot's name; its version stays readable by number until a
        vacuum removes the files no kept version needs. A name that is not there, or a
        CQL store, raises :class:`StoreError`."""
        self._native.delete_snapshot(name)

    def verify(self, paths: str | os.PathLike | Iterable[str | os.PathLike], *,
               pattern: str | None = None, format: str | None = None, tz: str | None = None,
               timeframe: str | None = None, adjustment: str | None = None,
               jobs: int | None = None) -> VerifyReport:
        """Re-reads the files (with the options of their load) and compares every bar of
        every series with the store."""
        report, series = self._native.verify(
            _paths(paths), _input(pattern, format, tz, timeframe, adjustment, jobs))
        return _report(VerifyReport, report, series=_frame(series))


def connect(url: str | os.PathLike | None = None, **options: Any) -> Store:
    """Opens a store: a directory (default ``$BARSTORE_STORE`` or ``./barstore-data``)
    for the embedded store, or ``cql://host[:port][,host...]/keyspace[?table=NAME]`` for
    ScyllaDB/Cassandra. Options: user, password (default ``$BARSTORE_CQL_PASSWORD``),
    tls, tls_ca, tls_cert and tls_key (a client certificate and its private key, PEM
    files, for clusters that require client authentication), dc, consistency,
    serial_consistency (of the fenced writes: "SERIAL", the default, or "LOCAL_SERIAL"),
    replication, compaction, retry_for (seconds a request is retried on transient
    errors, default 90), attempts (at most this many per request), overwrite_unreadable
    (a load merging into a stored day it cannot decode replaces it instead of failing)."""
    if url is None:
        url = os.environ.get("BARSTORE_STORE", _native.DEFAULTS["store"])
    options.setdefault("password", os.environ.get("BARSTORE_CQL_PASSWORD"))
    return Store(_native.NativeStore(os.fspath(url), **options))


def sessions(start: Any, end: Any, calendar: str = _native.DEFAULTS["calendar"]) -> pd.DataFrame:
    """The trading days of an exchange calendar (``us``: NYSE/Nasdaq holidays, early
    closes and special closures; ``plain``: every weekday) between two dates, inclusive:
    indexed by ``date``, with the regular session's ``open`` and ``close`` as exchange
    wall-clock timestamps."""
    days = _native.sessions(str(pd.Timestamp(start).date()), str(pd.Timestamp(end).date()),
                            calendar)
    return _frame(days).set_index("date")
