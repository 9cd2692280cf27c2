"""The notebook's reader, as a drop-in over barstore."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from . import _native
from ._convert import _time

def fetch_minute_data(symbol: str, start_time: Any, end_time: Any, KEYSPACE: str,
                      TABLE: str, trading_hours_only: bool, rounding: bool, *,
                      hosts: Sequence[str] = ("127.0.0.1",),
                      port: int = int(_native.DEFAULTS["cql_port"]),
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
        from . import connect
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


_fetch_stores: dict[str, Any] = {}
