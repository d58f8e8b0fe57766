"""A policy set as the store keeps a load of it: which load, the digest of its files, when, and the files."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class StoredSet:
    """A loaded policy set: its id, the digest of its files, when it was loaded, and (when asked) the files."""

    id: str
    digest: str
    loaded_at: dt.datetime
    files: dict[str, str] | None = None
