"""What the store's operations report back."""

from __future__ import annotations

import dataclasses

import pandas as pd


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
class CopyReport:
    """What a copy did: series visited, months copied, months skipped as already copied,
    rows and corporate action versions copied, wall time."""

    series: int
    months: int
    skipped: int
    rows: int
    actions: int
    seconds: float


@dataclasses.dataclass(frozen=True)
class VerifyReport:
    """How the store compares with source files, one row per series (symbol, timeframe,
    adjustment) in ``series``."""

    identical: bool
    series: pd.DataFrame
    failed: list[tuple[str, str]]
