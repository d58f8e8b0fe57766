"""Files kept by their content's SHA-256 under the data directory: written once, whole or not at all."""

from __future__ import annotations

import os
from pathlib import Path


def path(root: Path, sha256: str) -> Path:
    return root / sha256[:2] / sha256


def keep(root: Path, sha256: str, content: bytes) -> None:
    """Write the content under its hash once; a file already there is the same content."""
    target = path(root, sha256)
    if target.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{sha256}.{os.getpid()}.part")
    partial.write_bytes(content)
    os.replace(partial, target)  # whole or not at all, also when two writers of one content race
