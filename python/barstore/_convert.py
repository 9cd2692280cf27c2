"""Arguments into the native module's shapes, and its results out of them: tables as
Arrow (into pandas), reports as JSON (into the report dataclasses)."""

from __future__ import annotations

import datetime
import json
import numbers
import os
import sys
from collections.abc import Iterable
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa

from ._errors import OptionError

COLUMNS = ["open", "high", "low", "close", "volume"]
R = TypeVar("R")


class _ArrowStream:
    """Hands a native Arrow C stream capsule to pyarrow (PyCapsule interface)."""

    def __init__(self, capsule: Any) -> None:
        self._capsule = capsule

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
        return self._capsule


def _frame(capsule: Any) -> pd.DataFrame:
    """A native listing (series, actions, days...) as a frame, its columns as the library
    made them: dates and exchange times as naive datetimes, lists as lists, integer
    columns that may hold nulls as ``Int64``."""
    table = pa.table(_ArrowStream(capsule))
    df = table.to_pandas(coerce_temporal_nanoseconds=True, date_as_object=False)
    for field in table.schema:
        if pa.types.is_list(field.type):
            df[field.name] = table.column(field.name).to_pylist()
        elif pa.types.is_integer(field.type) and field.nullable:
            df[field.name] = df[field.name].astype("Int64")
    return df


def _report(cls: type[R], text: str, **tables: pd.DataFrame) -> R:
    """A native report (JSON; its pairs as tuples) and the tables that go with it as
    their dataclass."""
    fields = {k: [tuple(v) for v in value] if isinstance(value, list) else value
              for k, value in json.loads(text).items()}
    return cls(**fields, **tables)


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
           adjustment: str | None, jobs: int | None, epoch_unit: str | None = None,
           years: str | None = None) -> dict[str, Any]:
    """The input options ``load`` and ``verify`` share; ``None`` takes barstore's default."""
    return {"pattern": pattern, "format": format, "tz": tz, "timeframe": timeframe,
            "adjustment": adjustment, "jobs": jobs, "epoch_unit": epoch_unit, "years": years}


def _time(t: Any) -> str | None:
    """A bound as barstore reads it: a date or 'YYYY-MM-DD HH:MM:SS'."""
    if t is None:
        return None
    if isinstance(t, str):
        return t
    ts = pd.Timestamp(t)
    return ts.strftime("%Y-%m-%d %H:%M:%S")


def _as_of(v: Any) -> str | None:
    """A version to read as the CLI's ``--as-of`` takes it: a version number as digits, a
    name or any text as given, a date as ``YYYY-MM-DD`` (so is a naive midnight, which
    is how pandas holds a date), an aware time as RFC 3339. A naive time of day would
    leave the instant to guess, so it is refused."""
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, numbers.Integral) and not isinstance(v, bool):
        return str(int(v))
    if isinstance(v, datetime.date) and not isinstance(v, datetime.datetime):
        return v.isoformat()
    if not isinstance(v, (datetime.datetime, np.datetime64)):
        raise OptionError(f"as_of={v!r}: give a version number, a snapshot name, a date or "
                          f"a time")
    ts = pd.Timestamp(v)
    if ts.tzinfo is not None:
        return ts.tz_convert("UTC").isoformat()
    if ts == ts.normalize():
        return ts.strftime("%Y-%m-%d")
    raise OptionError(f"as_of={v!r}: a time of day needs its zone (a tz-aware time), "
                      f"or give a date")


def _slice(start: Any, end: Any, session: str | None, round: int | None,
           resample: str | None, tz: str | None, timeframe: str | None,
           adjustment: str | None, calendar: str | None, adjust: str | None = None,
           as_of: Any = None) -> dict[str, Any]:
    """What to read of each symbol, as the native module takes it."""
    return {"start": _time(start), "end": _time(end), "session": session, "round": round,
            "resample": resample, "tz": tz, "timeframe": timeframe, "adjustment": adjustment,
            "calendar": calendar, "adjust": adjust, "as_of": _as_of(as_of)}


def _time_indexed(table: pa.Table) -> pd.DataFrame:
    """A table with a ``timestamp`` column as a frame indexed by it. The value columns
    become pandas blocks without a copy; ``set_index`` would copy them all again under
    pandas 2 (a third of a whole read's time)."""
    times = table.column("timestamp").to_pandas(coerce_temporal_nanoseconds=True)
    df = table.drop_columns(["timestamp"]).to_pandas(split_blocks=True, self_destruct=True)
    df.index = pd.DatetimeIndex(times, name="timestamp")
    return df


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
