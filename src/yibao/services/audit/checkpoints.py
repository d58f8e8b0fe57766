"""Checkpoints (检查点): the books' chain heads and row counts, signed and kept outside the database.

A checkpoint first verifies the books against the checkpoints before it (services.audit_verify) and signs
nothing if they do not hold. It then appends one line to an append-only JSON-lines file: its number, time
and signer, the heads (sequence and hash) of every chain that changed since the line before, the row count of
every counted table, the hash of the line before, and an HMAC-SHA256 signature over all of it with a key the
database does not hold (`YIBAO_CHECKPOINT_KEY_FILE`, or `YIBAO_CHECKPOINT_KEY`). A copy of the file can be
shipped to the auditor at once. `yibao audit verify` checks the file's own chain and signatures, then the
books against every head and count it signed: a rewritten chain, or one whose newest records were removed,
is named at its row.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import hmac
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from yibao.config import Settings
from yibao.domain import errors
from yibao.domain.users import Actor
from yibao.ledger.chain import canonical
from yibao.services.audit import verify as audit_verify
from yibao.services.audit.verify import Anchors, Break, Report
from yibao.services.context import Context

FORMAT = 1
MIN_KEY_BYTES = 16


def file_path(settings: Settings) -> Path:
    return settings.checkpoint_file or settings.data_dir / "checkpoints.jsonl"


def signing_key(settings: Settings) -> bytes:
    """The key from its file, else from the variable; a clear refusal when there is none."""
    if settings.checkpoint_key_file is not None:
        try:
            key = settings.checkpoint_key_file.read_bytes().strip()
        except OSError:
            raise errors.CheckpointKeyMissing(reason_zh="密钥文件无法读取",
                                              reason_en="the key file cannot be read") from None
    else:
        key = settings.checkpoint_key.encode().strip()
    if not key:
        raise errors.CheckpointKeyMissing(reason_zh="未设置", reason_en="none is set")
    if len(key) < MIN_KEY_BYTES:
        raise errors.CheckpointKeyMissing(reason_zh=f"密钥过短（至少 {MIN_KEY_BYTES} 字节）",
                                          reason_en=f"the key is too short (at least {MIN_KEY_BYTES} bytes)")
    return key


def key_id(key: bytes) -> str:
    """Names the key a line was signed with, without revealing it."""
    return hashlib.sha256(b"yibao checkpoint key\n" + key).hexdigest()[:16]


def _signature(key: bytes, body: dict) -> str:
    return hmac.new(key, canonical(body), hashlib.sha256).hexdigest()


@dataclass
class FileCheck:
    """What a checkpoint file holds and whether its lines hold together."""

    path: Path
    lines: int = 0
    last: dict | None = None  # the newest line that holds
    last_hash: str = ""  # of the file's last line, which the next line links to
    signatures_checked: bool = False
    anchors: Anchors = field(default_factory=Anchors)
    breaks: list[Break] = field(default_factory=list)


def _line_break(n: int, zh: str, en: str) -> Break:
    return Break("checkpoints", f"line {n}", zh, en)


def last_signed_at(settings: Settings) -> dt.datetime | None:
    """When the newest checkpoint in the file was signed (None without one)."""
    path = file_path(settings)
    if not path.exists():
        return None
    last = read_file(path, None).last
    return dt.datetime.fromisoformat(last["at"]) if last and last.get("at") else None


def read_file(path: Path, key: bytes | None) -> FileCheck:
    """Check each line's number, its link to the line before and (with the key) its signature; the heads and
    counts of the lines that hold become anchors."""
    check = FileCheck(path, signatures_checked=key is not None)
    if not path.exists():
        return check
    prev = ""
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        check.lines = n
        line_hash = hashlib.sha256(raw.encode()).hexdigest()
        try:
            line = json.loads(raw)
            body = {k: v for k, v in line.items() if k != "sig"}
        except (ValueError, AttributeError):
            check.breaks.append(_line_break(n, "不是有效的检查点记录", "it is not a checkpoint line"))
            prev = line_hash
            continue
        broken = None
        if line.get("n") != n:
            broken = ("行号不符（其前有行被删除或插入）", f"it is numbered {line.get('n')}, not {n} "
                      "(a line before it was removed or added)")
        elif line.get("prev") != prev:
            broken = ("与前一行的链接不符（前一行被改动或删除）",
                      "its link to the line before does not match (that line was edited or removed)")
        elif key is not None and line.get("key_id") != key_id(key):
            broken = ("由另一把密钥签署", "it was signed with another key")
        elif key is not None and not hmac.compare_digest(str(line.get("sig", "")), _signature(key, body)):
            broken = ("签名不符（该行被改动）", "its signature does not match (the line was edited)")
        prev = line_hash
        check.last_hash = line_hash
        if broken:
            check.breaks.append(_line_break(n, *broken))
            continue
        for table, chains in (line.get("heads") or {}).items():
            for chain_key, (seq, head) in chains.items():
                check.anchors.heads[(table, chain_key)][int(seq)] = (head, n)
        for table, rows in (line.get("counts") or {}).items():
            if rows >= check.anchors.counts.get(table, (0, 0))[0]:
                check.anchors.counts[table] = (rows, n)
        check.last = line
    return check


@dataclass
class Verification:
    report: Report
    file: FileCheck

    @property
    def ok(self) -> bool:
        return not self.breaks

    @property
    def breaks(self) -> list[Break]:
        return self.file.breaks + self.report.breaks


def verify(ctx: Context, *, path: Path | None = None) -> Verification:
    """The books against their chains and the checkpoints in the file (the auditor's copy, if given)."""
    try:
        key = signing_key(ctx.settings)
    except errors.CheckpointKeyMissing:
        key = None  # the file's own chain is still checked; its signatures need the key
    checked = read_file(path or file_path(ctx.settings), key)
    return Verification(audit_verify.verify(ctx, anchors=checked.anchors), checked)


def _new_heads(report: Report, anchors: Anchors) -> dict[str, dict[str, list]]:
    """The heads of the chains that moved since the checkpoints signed them."""
    heads: dict[str, dict[str, list]] = {}
    for (table, chain_key), (seq, head) in sorted(report.heads.items()):
        signed = anchors.heads.get((table, chain_key))
        if signed and max(signed) == seq and signed[seq][0] == head:
            continue
        heads.setdefault(table, {})[chain_key] = [seq, head]
    return heads


def checkpoint(ctx: Context, *, actor: Actor, copy_to: Path | None = None) -> dict:
    """Verify the books, then sign their chain heads and counts into the checkpoint file (and its copy)."""
    key = signing_key(ctx.settings)
    path = file_path(ctx.settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # one writer at a time; the lock goes with the handle
        checked = read_file(path, key)
        if checked.breaks:
            first = checked.breaks[0]
            raise errors.CheckpointFileBroken(line=first.row.removeprefix("line "), reason_zh=first.reason_zh,
                                              reason_en=first.reason_en)
        report = audit_verify.verify(ctx, anchors=checked.anchors)
        if not report.ok:
            first = report.breaks[0]
            raise errors.BooksBroken(table=first.table, row=first.row)
        body = {"v": FORMAT, "n": checked.lines + 1, "at": ctx.now().isoformat(), "actor": actor.username,
                "prev": checked.last_hash, "key_id": key_id(key), "counts": report.counts,
                "heads": _new_heads(report, checked.anchors)}
        line = canonical({**body, "sig": _signature(key, body)}).decode()
        handle.write(line + "\n")
        handle.flush()
        line_hash = hashlib.sha256(line.encode()).hexdigest()
        if copy_to is not None:
            copy_to.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, copy_to)
    with ctx.uow() as uow:
        ctx.audit(uow, actor, "audit.checkpoint", "checkpoint", "file", n=body["n"], line_hash=line_hash,
                  chains=len(report.heads), moved=sum(len(c) for c in body["heads"].values()))
        uow.commit()
    return {"checkpoint": body["n"], "at": body["at"], "path": str(path), "line_hash": line_hash,
            "chains": len(report.heads), "moved": sum(len(c) for c in body["heads"].values()),
            "counts": report.counts, "copied_to": str(copy_to) if copy_to else None}
