"""Documents for applications (材料, R18): uploaded once, stored by content hash, each belonging to one person.

A file is accepted when its type is one of the fixed list, it is not empty, not larger than the setting
allows, and its content (not its name) is a PDF, JPEG or PNG.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import filetype

from yibao.domain import errors
from yibao.domain import vocabulary as v
from yibao.domain.applications import Document
from yibao.domain.ids import new_id
from yibao.domain.registry import Person
from yibao.domain.users import Actor
from yibao.services import access, blobs
from yibao.services.context import Context

ACCEPTED = {"application/pdf": "PDF", "image/jpeg": "JPEG", "image/png": "PNG"}


def store_dir(ctx: Context) -> Path:
    return Path(ctx.settings.data_dir) / "documents"


def path_of(ctx: Context, sha256: str) -> Path:
    return blobs.path(store_dir(ctx), sha256)


def check(ctx: Context, *, type: str, content: bytes) -> str:
    """Whether a file would be accepted as a document of the type, without keeping it: its media type, or the
    refusal `upload` would give."""
    if type not in v.DocumentType:
        raise errors.DocumentInvalid(reason_zh=f"材料类型须为 {'、'.join(v.DocumentType)} 之一",
                                     reason_en=f"type is one of {', '.join(v.DocumentType)}")
    if not content:
        raise errors.DocumentInvalid(reason_zh="文件为空", reason_en="the file is empty")
    limit = ctx.settings.document_max_bytes
    if len(content) > limit:
        raise errors.DocumentTooLarge(size=len(content), limit=limit)
    kind = filetype.guess(content)
    if kind is None or kind.mime not in ACCEPTED:
        raise errors.DocumentInvalid(reason_zh="内容须为 PDF、JPEG 或 PNG 文件",
                                     reason_en="the content must be a PDF, JPEG or PNG file",
                                     detected=kind.mime if kind else None)
    return kind.mime


def upload(ctx: Context, *, actor: Actor, person_id: str, type: str, content: bytes, filename: str = "") -> Document:
    """Keep a file as one of the person's documents (checked as `check` does), stored once by its content hash."""
    access.ensure_owner_or_staff(actor, person_id)
    mime = check(ctx, type=type, content=content)
    sha256 = hashlib.sha256(content).hexdigest()
    with ctx.uow() as uow:
        if uow.get(Person, person_id) is None:
            raise errors.PersonNotFound()
        blobs.keep(store_dir(ctx), sha256, content)
        document = Document(new_id("doc"), person_id, type, sha256, len(content), mime,
                            Path(filename or "").name[:200], ctx.now(), actor.username)
        uow.add(document)
        ctx.audit(uow, actor, "document.upload", "document", document.id, person_id=person_id, type=type,
                  sha256=sha256, size=len(content))
        uow.commit()
        return document


def get(ctx: Context, *, actor: Actor, document_id: str) -> tuple[Document, bytes]:
    """A document and its content, for its person and agency staff."""
    with ctx.uow() as uow:
        document = uow.get(Document, document_id)
        if document is None:
            raise errors.DocumentNotFound()
        access.ensure_can_read_owned(uow, actor, document.person_id)
        return document, path_of(ctx, document.sha256).read_bytes()
