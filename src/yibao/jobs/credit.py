"""The monthly crediting job: a contribution file from the collection system, streamed row by row.

Rows are committed in batches; each row runs in its own savepoint, so a bad row is written to
the rejected-rows file with its reason and the rest of the batch goes on. Re-running a file
after a crash credits nothing twice: each row carries its natural idempotency key
(person, month, payer) and rows already credited are counted as such.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from yibao.domain import errors
from yibao.domain.identity import parse_id_number, validate_uscc
from yibao.domain.registry import Employer, Person
from yibao.domain.users import Actor
from yibao.services.books import Books
from yibao.services.context import Context
from yibao.services.contributions import check_base, credit_in, parse_period

COLUMNS = ("id_number", "base_fen", "employer_uscc")
REQUIRED = ("id_number", "base_fen")
REJECT_COLUMNS = ("line", *COLUMNS, "code", "message_zh", "message_en")


@dataclass
class CreditSummary:
    rows: int = 0
    credited: int = 0
    repeated: int = 0
    rejected: int = 0
    credited_fen: int = 0
    seconds: float = 0.0
    rejected_path: Path | None = None
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def _lines(path: Path, on_bytes: Callable[[int], None]) -> Iterator[str]:
    with path.open("rb") as raw:
        for line in raw:
            on_bytes(len(line))
            yield line.decode("utf-8-sig")


def _rows(path: Path, on_bytes: Callable[[int], None]) -> Iterator[tuple[int, dict]]:
    reader = csv.DictReader(_lines(path, on_bytes))
    header = [name.strip() for name in reader.fieldnames or []]
    unknown = sorted(set(header) - set(COLUMNS))
    missing = [name for name in REQUIRED if name not in header]
    if missing or unknown:
        raise errors.CreditFileInvalid(reason_zh=f"表头须为 {', '.join(COLUMNS)}（缺少 {missing}，多余 {unknown}）",
                                reason_en=f"the header must use {', '.join(COLUMNS)} (missing {missing}, unknown {unknown})")
    reader.fieldnames = header
    for row in reader:
        yield reader.line_num, {k: (v or "").strip() for k, v in row.items() if k in COLUMNS}


def _parse_base(text: str) -> int:
    if not text.isdigit():
        raise errors.ContributionInvalid(reason_zh=f"缴费基数须为整数（分）：{text!r}",
                                         reason_en=f"base_fen must be a whole number of fen: {text!r}")
    return check_base(int(text))


def credit_file(ctx: Context, *, actor: Actor, path: Path, period: str, rejected_path: Path | None = None,
                batch: int = 500, on_bytes: Callable[[int], None] = lambda n: None,
                after_batch: Callable[[CreditSummary], None] = lambda s: None) -> CreditSummary:
    """Credit every row of a contribution file for one month; write each refused row with its reason."""
    first = parse_period(period)
    if not path.is_file():
        raise errors.CreditFileInvalid(reason_zh=f"找不到文件 {path.name}", reason_en=f"no such file: {path.name}")
    rejected_path = rejected_path or path.with_name(path.stem + ".rejected.csv")
    summary = CreditSummary(rejected_path=rejected_path)
    started = time.perf_counter()
    rows = _rows(path, on_bytes)
    with rejected_path.open("w", newline="", encoding="utf-8") as out:
        rejects = csv.DictWriter(out, REJECT_COLUMNS, extrasaction="ignore")
        rejects.writeheader()
        while True:
            chunk = [r for _, r in zip(range(batch), rows, strict=False)]
            if not chunk:
                break
            with ctx.uow() as uow:
                for line, row in chunk:
                    summary.rows += 1
                    books = Books(uow, ctx.now())
                    savepoint = uow.session.begin_nested()
                    try:
                        response, repeated = _credit_row(ctx, uow, books, actor, row, period, first)
                        books.flush()
                        savepoint.commit()
                    except errors.DomainError as exc:
                        savepoint.rollback()
                        books.discard()
                        summary.rejected += 1
                        summary.reasons[exc.code] = summary.reasons.get(exc.code, 0) + 1
                        rejects.writerow({"line": line, **row, "code": exc.code, "message_zh": exc.zh,
                                          "message_en": exc.en})
                        continue
                    if repeated:
                        summary.repeated += 1
                    else:
                        summary.credited += 1
                        summary.credited_fen += response["credited_fen"]
                uow.commit()
            out.flush()
            summary.seconds = time.perf_counter() - started
            after_batch(summary)
    summary.seconds = time.perf_counter() - started
    return summary


def _credit_row(ctx, uow, books, actor, row: dict, period: str, first) -> tuple[dict, bool]:
    id_number = parse_id_number(row.get("id_number", "")).number
    base_fen = _parse_base(row.get("base_fen", ""))
    person = uow.one_by(Person, id_number=id_number)
    if person is None:
        raise errors.PersonNotFound()
    employer_id = None
    if row.get("employer_uscc"):
        employer = uow.one_by(Employer, uscc=validate_uscc(row["employer_uscc"]))
        if employer is None:
            raise errors.EmployerNotFound()
        employer_id = employer.id
    return credit_in(ctx, uow, books, actor=actor, person=person, period=period, first=first, base_fen=base_fen,
                     employer_id=employer_id)
