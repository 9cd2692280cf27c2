"""Type stubs of the native module; the public API is in barstore/__init__.py."""

from collections.abc import Callable
from typing import Any

ArrowStream = Any
"""A table: an Arrow C stream in a PyCapsule (``arrow_array_stream``)."""

Report = str
"""A report: the JSON of the library's report type."""

Slice = dict[str, Any]
"""What to read of each symbol: start, end, session, round, resample, tz, timeframe,
adjustment, calendar, adjust and as_of, each a string (round an int) or ``None`` for the
library's default. ``as_of`` is the version to read as ``barstore read --as-of`` takes
it: a version number as digits, a date ``YYYY-MM-DD``, an RFC 3339 time with ``Z`` or an
offset, or a snapshot name."""

DEFAULTS: dict[str, str]
"""The library's defaults by option name (zone, store, errors, consistency...)."""

class NativeStore:
    def __init__(
        self,
        location: str,
        user: str | None = ...,
        password: str | None = ...,
        tls: bool = ...,
        tls_ca: str | None = ...,
        tls_cert: str | None = ...,
        tls_key: str | None = ...,
        dc: str | None = ...,
        consistency: str | None = ...,
        serial_consistency: str | None = ...,
        replication: str | None = ...,
        compaction: str | None = ...,
        retry_for: float | None = ...,
        attempts: int | None = ...,
        batch_rows: int | None = ...,
        concurrency: int | None = ...,
        overwrite_unreadable: bool = ...,
    ) -> None: ...
    def location(self) -> str: ...
    def load(
        self,
        paths: list[str],
        input: dict[str, Any],
        force: bool = ...,
        errors: str | None = ...,
        progress: Callable[[dict[str, int]], None] | None = ...,
    ) -> str: ...
    def read_arrow(self, symbol: str, slice: Slice) -> ArrowStream: ...
    def read_panel(
        self,
        symbols: list[str] | None,
        slice: Slice,
        pivot: str | None = ...,
        skip_missing: bool = ...,
        form: str = ...,
    ) -> tuple[ArrowStream, list[str]]: ...
    def check(self, symbols: list[str], slice: Slice) -> ArrowStream: ...
    def symbols(self) -> ArrowStream: ...
    def load_actions(self, path: str, calendar: str | None = ...) -> Report: ...
    def actions(self, symbol: str | None = ..., history: bool = ...) -> ArrowStream: ...
    def copy_to(
        self, target: NativeStore, symbols: list[str] = ..., force: bool = ...
    ) -> Report: ...
    def compact(self) -> int: ...
    def history(self, limit: int | None = ...) -> ArrowStream: ...
    def snapshot(self, name: str, as_of: str | None = ...) -> int: ...
    def snapshots(self) -> ArrowStream: ...
    def delete_snapshot(self, name: str) -> None: ...
    def verify(
        self, paths: list[str], input: dict[str, Any]
    ) -> tuple[Report, ArrowStream]: ...

def sessions(start: str, end: str, calendar: str) -> ArrowStream: ...
