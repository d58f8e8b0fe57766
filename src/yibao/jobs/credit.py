"""The monthly crediting job: a contribution file from the collection system, streamed row by row.

Rows are committed in batches. A bad row is written to the rejected-rows file with its reason and
the rest of the batch goes on. Re-running a file after a crash credits nothing twice: each row
carries its natural idempotency key (person, month, payer) and rows already credited are counted
as such.

Two paths take a batch with the same outcome row for row, both deciding each month by the one rule
of policy.crediting. The per-row path runs each row through the contribution service in its own
savepoint (a collector's return file naming declarations, and stores that prefer it). The batch path
hands the rows the file alone can check to the contribution service, which finds the store's facts for
the whole batch at once (on PostgreSQL COPY'd into a staging table and resolved in one statement),
decides each row in turn, claims the keys together and has the ledger writer post every entry at once
(accounts locked in one sorted batch, chain links computed in one pass, postings and entries by COPY).
Where the store allows it, a large batch is split by person into two lanes credited at once, each in its
own transaction, so the database works on one lane while the job's Python works on the other.
"""

from __future__ import annotations

import csv
import gc
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from yibao.domain import errors
from yibao.domain.identity import id_number_of, validate_uscc
from yibao.domain.registry import Employer, Person
from yibao.domain.users import Actor
from yibao.policy.crediting import check_base, parse_period
from yibao.services import access
from yibao.services.accounts import collection, contributions
from yibao.services.accounts.books import Books
from yibao.services.accounts.contributions import credit_in
from yibao.services.context import Context

COLUMNS = ("id_number", "base_fen", "employer_uscc", "declaration_id")  # declaration_id: a collector's return file
REQUIRED = ("id_number", "base_fen")
REJECT_COLUMNS = ("line", *COLUMNS, "code", "message_zh", "message_en")

LANES = 2  # transactions a large set-based batch is split into, credited at once
LANE_MIN = 2_000  # rows per lane below which a second transaction costs more than it saves


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


@dataclass
class Outcome:
    line: int
    row: dict
    error: errors.DomainError | None = None
    repeated: bool = False
    credited_fen: int = 0


def credit_file(ctx: Context, *, actor: Actor, path: Path, period: str, rejected_path: Path | None = None,
                batch: int | None = None, on_bytes: Callable[[int], None] = lambda n: None,
                after_batch: Callable[[CreditSummary], None] = lambda s: None,
                set_based: bool | None = None) -> CreditSummary:
    """Credit every row of a contribution file for one month; write each refused row with its reason."""
    first = parse_period(period)
    if not path.is_file():
        raise errors.CreditFileInvalid(reason_zh=f"找不到文件 {path.name}", reason_en=f"no such file: {path.name}")
    access.ensure(actor, "contribution", "collect")
    with ctx.uow() as uow:  # the store says whether it credits a batch faster set-based, and in how many lanes
        preferred, lanes = uow.contributions.set_based, uow.contributions.lanes
    if set_based is None:
        set_based = preferred and not _names_declarations(path)
    batch = batch or (20_000 if set_based else 500)
    if set_based:
        def credit_batch(ctx, actor, chunk, period, first):
            return _credit_batch_in_lanes(ctx, actor, chunk, period, first, lanes)
    else:
        credit_batch = _credit_batch_row_by_row
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
            with _cycle_collection_paused():
                outcomes = credit_batch(ctx, actor, chunk, period, first)
            for outcome in outcomes:
                summary.rows += 1
                if (exc := outcome.error) is not None:
                    summary.rejected += 1
                    summary.reasons[exc.code] = summary.reasons.get(exc.code, 0) + 1
                    rejects.writerow({"line": outcome.line, **outcome.row, "code": exc.code, "message_zh": exc.zh,
                                      "message_en": exc.en})
                elif outcome.repeated:
                    summary.repeated += 1
                else:
                    summary.credited += 1
                    summary.credited_fen += outcome.credited_fen
            out.flush()
            summary.seconds = time.perf_counter() - started
            after_batch(summary)
    summary.seconds = time.perf_counter() - started
    return summary


def _names_declarations(path: Path) -> bool:
    """Whether the file is a collector's return file naming declarations (confirmed row by row)."""
    with path.open(encoding="utf-8-sig") as f:
        header = next(csv.reader(f), [])
    return "declaration_id" in (name.strip() for name in header)


@contextmanager
def _cycle_collection_paused() -> Iterator[None]:
    """A batch makes a dozen objects per row that live until it ends: the cycle collector, started every
    few hundred allocations, walked them all again and again (a quarter of the job's own time) and found
    nothing to free. Objects still go when their last reference does; cycles wait for the batch's end."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _credit_batch_row_by_row(ctx, actor, chunk, period, first) -> list[Outcome]:
    """Each row through the contribution service in its own savepoint; one commit for the batch."""
    outcomes = []
    with ctx.uow() as uow:
        for line, row in chunk:
            books = Books(uow, ctx.now())
            try:
                with uow.savepoint():
                    response, repeated = _credit_row(ctx, uow, books, actor, row, period, first)
                    books.flush()
            except errors.DomainError as exc:
                books.discard()
                outcomes.append(Outcome(line, row, error=exc))
                continue
            outcomes.append(Outcome(line, row, repeated=repeated, credited_fen=0 if repeated else response["credited_fen"]))
        uow.commit()
    return outcomes


def _credit_row(ctx, uow, books, actor, row: dict, period: str, first) -> tuple[dict, bool]:
    id_number = id_number_of(row.get("id_number", ""))
    base_fen = _parse_base(row.get("base_fen", ""))
    person = uow.one_by(Person, id_number=id_number)
    if person is None:
        raise errors.PersonNotFound()
    if row.get("declaration_id"):
        return collection.confirm_row_in(ctx, uow, books, actor=actor, declaration_id=row["declaration_id"],
                                         person_id=person.id, period=period, base_fen=base_fen)
    employer_id = None
    if row.get("employer_uscc"):
        employer = uow.one_by(Employer, uscc=validate_uscc(row["employer_uscc"]))
        if employer is None:
            raise errors.EmployerNotFound()
        employer_id = employer.id
    return credit_in(ctx, uow, books, actor=actor, person=person, period=period, first=first, base_fen=base_fen,
                     employer_id=employer_id)


def _credit_batch_in_lanes(ctx, actor, chunk, period, first, lanes_at_once: int) -> list[Outcome]:
    """A large batch split by person into lanes credited at once, each by the set-based path in its own
    transaction on its own connection; outcomes in file order. Most of a batch's time is the database's
    work, on one core while the job waits for it: lanes keep the other core busy. All rows of a person go
    to one lane in file order, so lanes never share an account or a key and each decides as one batch would."""
    if lanes_at_once < LANES or len(chunk) < LANES * LANE_MIN:
        return _credit_batch_set_based(ctx, actor, chunk, period, first)
    lanes: list[list[tuple[int, dict]]] = [[] for _ in range(LANES)]
    for line, row in chunk:
        lanes[hash(_person_of(row)) % LANES].append((line, row))
    with ThreadPoolExecutor(LANES) as pool:
        done = list(pool.map(lambda lane: _credit_batch_set_based(ctx, actor, lane, period, first),
                             [lane for lane in lanes if lane]))
    return sorted((outcome for outcomes in done for outcome in outcomes), key=lambda o: o.line)


def _person_of(row: dict) -> str:
    """The ID number a row names, as the checks read it (the text as written if it is no valid number)."""
    try:
        return id_number_of(row.get("id_number", ""))
    except errors.DomainError:
        return row.get("id_number", "")


def _credit_batch_set_based(ctx, actor, chunk, period, first) -> list[Outcome]:
    """The batch checked as far as the file alone tells (in the per-row path's order), then credited by the
    contribution service a batch at a time; one commit for the batch."""
    outcomes: dict[int, Outcome] = {}
    staged, codes = [], {}
    for line, row in chunk:  # what the file alone tells: checked in the order _credit_row checks it
        outcome = outcomes[line] = Outcome(line, row)
        try:
            number = id_number_of(row.get("id_number", ""))
            base_fen = _parse_base(row.get("base_fen", ""))
        except errors.DomainError as exc:
            outcome.error = exc
            continue
        uscc, uscc_error = row.get("employer_uscc") or None, None
        if uscc:
            if uscc not in codes:  # a file names few units: each code is checked once
                try:
                    codes[uscc] = validate_uscc(uscc)
                except errors.DomainError as exc:
                    codes[uscc] = exc
            if isinstance(codes[uscc], errors.DomainError):
                uscc_error, uscc = codes[uscc], None
            else:
                uscc = codes[uscc]
        staged.append(contributions.FileRow(line, number, base_fen, uscc, uscc_error))
    for line, credited in contributions.credit_batch(ctx, actor=actor, period=period, first=first,
                                                     rows=staged).items():
        outcome = outcomes[line]
        outcome.error, outcome.repeated, outcome.credited_fen = credited.error, credited.repeated, credited.credited_fen
    return [outcomes[line] for line, _ in chunk]
