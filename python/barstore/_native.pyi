"""Type stubs of the native module; the public API is in barstore/__init__.py."""

from collections.abc import Callable
from typing import Any

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
        replication: str | None = ...,
        compaction: str | None = ...,
        attempts: int | None = ...,
        batch_rows: int | None = ...,
        concurrency: int | None = ...,
    ) -> None: ...
    def location(self) -> str: ...
    def load(
        self,
        paths: list[str],
        input: dict[str, Any],
        force: bool = ...,
        errors: str | None = ...,
        progress: Callable[[dict[str, int]], None] | None = ...,
    ) -> dict[str, Any]: ...
    def read_arrow(self, symbol: str, slice: dict[str, Any]) -> Any: ...
    def read_panel(
        self,
        symbols: list[str] | None,
        slice: dict[str, Any],
        pivot: str | None = ...,
        skip_missing: bool = ...,
        form: str = ...,
    ) -> tuple[Any, list[str]]: ...
    def check(self, symbol: str, slice: dict[str, Any]) -> str: ...
    def copy_to(
        self, target: NativeStore, symbols: list[str] = ..., force: bool = ...
    ) -> tuple[int, int, int, int]: ...
    def symbols(self) -> list[tuple[str, str, str, int, int, int, str]]: ...
    def load_actions(
        self, path: str, calendar: str | None = ...
    ) -> tuple[int, int, int, int, list[tuple[int, str]]]: ...
    def actions(
        self, symbol: str | None = ..., history: bool = ...
    ) -> list[
        tuple[str, str, str, float | None, float | None, float | None, str, int]
    ]: ...
    def verify(
        self, paths: list[str], input: dict[str, Any]
    ) -> tuple[
        bool, list[tuple[str, str, str, int, int, int, int, int]], list[tuple[str, str]]
    ]: ...

def sessions(start: str, end: str, calendar: str) -> list[tuple[str, int, int]]: ...
