"""Publishing a policy set from an upload: read it (one region's YAML file over the set in force, or a zip or tar
of the whole tree), check it as `policy load` does, show what it changes from today on and whom it concerns,
then make it the set in force from an effective date, all or nothing.

The upload is bounded (its bytes, and for an archive the bytes and files it expands to). Nothing changes before
the effective date chosen: an upload that would change a rule earlier is refused, so a publication never
rewrites a day already past. Publishing names the check it follows (the digest shown and the set then in force):
an upload or a policy in force that changed since is refused.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import tarfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from yibao.domain import errors
from yibao.domain.users import Actor
from yibao.policy import diff
from yibao.policy.loader import PolicySet, load_files
from yibao.services import access
from yibao.services.context import Context
from yibao.services.policy import sets

MAX_UPLOAD_BYTES = 256 * 1024
MAX_EXPANDED_BYTES = 2 * 1024 * 1024
MAX_FILES = 200
_FILE_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]*\.ya?ml")


def _invalid(zh: str, en: str) -> errors.PolicyUploadInvalid:
    return errors.PolicyUploadInvalid(reason_zh=zh, reason_en=en)


def folders_in_force(ctx: Context) -> list[str]:
    """The region folders of the set in force (`110000-beijing`, …): where one uploaded YAML file may go."""
    return sorted({name.partition("/")[0] for name in ctx.policy.policy_set.files})


def read_upload(ctx: Context, *, file_name: str, data: bytes, folder: str | None = None) -> dict[str, bytes]:
    """The policy set an upload stands for, as the loader's {"<folder>/<file>.yaml": bytes}: an archive is the
    whole tree; one YAML file takes its place in `folder` of the set in force, the other files unchanged."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise errors.RequestTooLarge(limit_bytes=MAX_UPLOAD_BYTES)
    if not data:
        raise _invalid("请选择要上传的文件", "choose the file to upload")
    if zipfile.is_zipfile(io.BytesIO(data)):
        return _tree(_zip_members(data))
    if _is_tar(data):
        return _tree(_tar_members(data))
    name = PurePosixPath((file_name or "").replace("\\", "/")).name.lower()
    if not _FILE_NAME.fullmatch(name):
        raise _invalid("须为一个 .yaml 文件，或整个政策目录的 .zip、.tar.gz 压缩包",
                       "send one .yaml file, or a .zip or .tar.gz of the whole policy tree")
    if folder not in folders_in_force(ctx):
        raise _invalid("请选择该文件所属的地区目录", "choose the region folder the file belongs to")
    files = dict(ctx.policy.policy_set.files)
    files.pop(f"{folder}/", None)
    files[f"{folder}/{name.removesuffix('.yml').removesuffix('.yaml')}.yaml"] = data
    return files


def _is_tar(data: bytes) -> bool:
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*"):
            return True
    except (tarfile.TarError, EOFError, OSError):
        return False


def _bounded(members: list[tuple[str, int]]) -> None:
    if len(members) > MAX_FILES:
        raise _invalid(f"压缩包内文件超过 {MAX_FILES} 个", f"the archive holds more than {MAX_FILES} files")
    if sum(size for _, size in members) > MAX_EXPANDED_BYTES:
        raise errors.RequestTooLarge(limit_bytes=MAX_EXPANDED_BYTES)


def _read_capped(stream, total: list[int]) -> bytes:
    """A member's bytes, counting them against the expanded limit whatever its header claims."""
    raw = stream.read(MAX_EXPANDED_BYTES - total[0] + 1)
    total[0] += len(raw)
    if total[0] > MAX_EXPANDED_BYTES:
        raise errors.RequestTooLarge(limit_bytes=MAX_EXPANDED_BYTES)
    return raw


def _zip_members(data: bytes) -> dict[str, bytes]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = [i for i in archive.infolist() if not i.is_dir()]
            _bounded([(i.filename, i.file_size) for i in infos])
            total = [0]
            out = {}
            for info in infos:
                with archive.open(info) as stream:
                    out[info.filename] = _read_capped(stream, total)
            return out
    except (zipfile.BadZipFile, RuntimeError, NotImplementedError, ValueError):
        raise _invalid("压缩包已损坏或已加密", "the archive is damaged or encrypted") from None


def _tar_members(data: bytes) -> dict[str, bytes]:
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
            members = [m for m in archive.getmembers() if m.isfile()]
            _bounded([(m.name, m.size) for m in members])
            total = [0]
            return {m.name: _read_capped(archive.extractfile(m), total) for m in members}
    except (tarfile.TarError, EOFError, OSError):
        raise _invalid("压缩包已损坏", "the archive is damaged") from None


def _tree(members: Mapping[str, bytes]) -> dict[str, bytes]:
    """The archive's `<folder>/<file>.yaml` files, also when the tree is inside one top folder (`policies/…`);
    other files are left out, as `policy load` leaves them out of a folder on disk."""
    paths = {PurePosixPath(name): raw for name, raw in members.items()}  # PurePosixPath drops a leading "./"
    if any(p.is_absolute() or ".." in p.parts for p in paths):
        raise _invalid("压缩包内含有不安全的路径", "the archive holds an unsafe path")
    tops = {p.parts[0] for p in paths if len(p.parts) == 3}
    strip = len(tops) == 1 and not any(len(p.parts) == 2 and p.suffix == ".yaml" for p in paths)
    files = {}
    for path, raw in paths.items():
        parts = path.parts[1:] if strip else path.parts
        if len(parts) == 2 and parts[1].endswith(".yaml"):
            files["/".join(parts)] = raw
    if not files:
        raise _invalid("压缩包内没有 <代码>-<名称>/*.yaml 形式的政策文件",
                       "the archive holds no policy files as <code>-<name>/*.yaml")
    return files


@dataclass(frozen=True)
class RegionChanges:
    code: str
    name_zh: str
    name_en: str
    changes: list[diff.Change]
    people: int


@dataclass(frozen=True)
class Preview:
    """What publishing an upload would do: its digest, the set in force it was compared with, the rule changes
    by region with the people each concerns, and the changes that fall before the effective date."""

    digest: str
    based_on: str | None
    effective: dt.date
    unchanged: bool
    regions: list[RegionChanges]
    people: int
    early: list[diff.Change]
    first: bool  # nothing published yet: this publication sends no notices, there is nothing to compare with
    policy_set: PolicySet = field(repr=False)


def check_effective(ctx: Context, effective: dt.date | None) -> dt.date:
    """The effective date chosen: today or later."""
    if effective is None:
        raise errors.PolicyEffectiveDateInvalid(reason_zh="请填写生效日期", reason_en="give the effective date")
    if effective < ctx.today():
        raise errors.PolicyEffectiveDateInvalid(reason_zh="生效日期不能早于今天",
                                                reason_en="the date cannot be before today")
    return effective


def preview(ctx: Context, *, actor: Actor, files: Mapping[str, bytes], effective: dt.date | None) -> Preview:
    """Check an upload as `policy load` does (PolicyFileError names every problem by file, line and key) and
    compare it with the set in force: the rule changes from today on by region, and how many people they concern
    (each person once, as the notices would reach them)."""
    access.ensure(actor, "policy", "publish")
    effective = check_effective(ctx, effective)
    new = load_files(files)
    engine = ctx.policy
    old = engine.policy_set
    found = sets.rule_changes(old, new, ctx.today())
    regions, everyone = [], []
    with ctx.uow() as uow:
        for code, changes in found.items():
            within, outside = sets.governed(code, new)
            audiences = [(within, outside, schemes) for schemes in sets.audiences(changes)]
            everyone += audiences
            named = new.regions.get(code) or old.regions[code]
            regions.append(RegionChanges(code, named.name_zh, named.name_en, changes,
                                         uow.policies.count_insured(audiences)))
        people = uow.policies.count_insured(everyone)
    early = [c for changes in found.values() for c in changes if c.on is not None and c.on < effective]
    return Preview(new.digest, engine.set_id, effective, engine.set_id is not None and new.digest == old.digest,
                   regions, people, early, engine.set_id is None, new)


def publish(ctx: Context, *, actor: Actor, files: Mapping[str, bytes], effective: dt.date | None, digest: str,
            based_on: str | None, source: str) -> sets.LoadResult:
    """Publish the upload checked before (same digest, same set in force): it becomes the set in force and the
    people its rule changes concern are told; refused whole when any change falls before the effective date."""
    checked = preview(ctx, actor=actor, files=files, effective=effective)
    if checked.digest != digest or checked.based_on != (based_on or None):
        raise errors.PolicyCheckStale()
    if checked.early:
        first = min(c.on for c in checked.early)
        raise errors.PolicyEffectiveDateInvalid(
            reason_zh=f"上传的政策自 {first.isoformat()} 起即有变化，早于所选生效日期",
            reason_en=f"the upload changes the policy from {first.isoformat()}, before the date chosen")
    return sets.load_set(ctx, actor=actor, policy_set=checked.policy_set, source=source,
                         effective_from=checked.effective.isoformat())
