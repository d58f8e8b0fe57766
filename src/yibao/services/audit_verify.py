"""Tamper evidence: recompute every hash chain and balance, and name the first row that does not hold.

Checks, in order: each account's chain of entries (sequence, links, each entry's hash over its content
and postings, the head kept on the account row), each guarded account's balance against its postings
and pending holds, the zero sum of all postings, and each audited entity's chain of audit records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import groupby

import sqlalchemy as sa

from yibao.ledger import chain
from yibao.ledger.accounts import Account
from yibao.ledger.entries import Entry, Posting
from yibao.services.books import entry_hash
from yibao.services.context import Context
from yibao.store.ledger_repo import LedgerRepository, total
from yibao.store.tables import audit_records, holds, ledger_entries, ledger_postings


@dataclass(frozen=True)
class Break:
    table: str
    row: str
    reason_zh: str
    reason_en: str


@dataclass
class Report:
    entries: int = 0
    accounts: int = 0
    audit_records: int = 0
    breaks: list[Break] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.breaks


def verify(ctx: Context) -> Report:
    """Walk every chain and balance; the first break is the first of `breaks`."""
    report = Report()
    with ctx.uow() as uow:
        conn = uow.session
        repo = LedgerRepository(conn)
        accounts = {a.id: a for a in repo.all_accounts()}
        report.accounts = len(accounts)
        _verify_entries(conn, accounts, report)
        _verify_balances(conn, accounts, report)
        _verify_audit(conn, report)
    return report


def _entry_rows(conn):
    e, p = ledger_entries, ledger_postings
    query = (sa.select(e, p.c.id.label("posting_id"), p.c.account_id, p.c.amount_fen, p.c.bucket)
             .select_from(e.outerjoin(p, p.c.entry_id == e.c.id))
             .order_by(e.c.anchor_account_id, e.c.anchor_seq, p.c.id))
    return conn.execute(query.execution_options(yield_per=2000))


def _verify_entries(conn, accounts: dict[str, Account], report: Report) -> None:
    seen: dict[str, tuple[int, str]] = {}  # account -> (last seq, last hash)
    for entry_id, rows in groupby(_entry_rows(conn), key=lambda r: r.id):
        rows = list(rows)
        head = rows[0]
        report.entries += 1
        entry = Entry(id=head.id, kind=head.kind, at=head.at, business_date=head.business_date, memo=head.memo,
                      details=head.details, reverses_id=head.reverses_id, anchor_account_id=head.anchor_account_id,
                      anchor_seq=head.anchor_seq, prev_hash=head.prev_hash, hash=head.hash, chain_v=head.chain_v,
                      postings=[Posting(r.account_id, r.amount_fen, r.bucket) for r in rows if r.posting_id])
        where = f"{entry_id} ({entry.anchor_account_id} #{entry.anchor_seq})"
        last = seen.get(entry.anchor_account_id, (0, chain.GENESIS))
        broken = _link_break("ledger_entries", where, "entry", entry.anchor_seq, entry.prev_hash, last,
                             entry_hash(entry), entry.hash)
        if broken:
            report.breaks.append(broken)
        elif sum(p.amount_fen for p in entry.postings) != 0 or len(entry.postings) < 2:
            report.breaks.append(Break("ledger_entries", where, "分录合计不为零",
                                       "its postings do not sum to zero"))
        seen[entry.anchor_account_id] = (entry.anchor_seq, entry.hash)
    for account in accounts.values():
        last_seq, last_hash = seen.get(account.id, (0, chain.GENESIS))
        if (last_seq, last_hash) != (account.chain_length, account.chain_head):
            report.breaks.append(Break("ledger_accounts", account.id, "账户记录的链头与链上最后一条记录不符",
                                       "the chain head kept on the account does not match its last entry"))


def _verify_balances(conn, accounts: dict[str, Account], report: Report) -> None:
    p, h = ledger_postings, holds
    current = total(sa.case((p.c.bucket == "current", p.c.amount_fen), else_=0))
    sums = {r.account_id: (r.total, r.current) for r in conn.execute(
        sa.select(p.c.account_id, total(p.c.amount_fen).label("total"), current.label("current"))
        .group_by(p.c.account_id))}
    held = dict(conn.execute(sa.select(h.c.account_id, total(h.c.amount_fen))
                             .where(h.c.status == "pending").group_by(h.c.account_id)).all())
    for account in accounts.values():
        if not account.guarded:
            continue
        posted, current = sums.get(account.id, (0, 0))
        if account.posted_fen != posted:
            report.breaks.append(Break("ledger_accounts", account.id,
                                       f"余额 {account.posted_fen} 与分录合计 {posted} 不符",
                                       f"balance {account.posted_fen} differs from its postings' sum {posted}"))
        elif account.current_year_fen is not None and account.current_year_fen != current:
            report.breaks.append(Break("ledger_accounts", account.id,
                                       f"当年部分 {account.current_year_fen} 与分录 {current} 不符",
                                       f"current-year part {account.current_year_fen} differs from postings {current}"))
        elif account.pending_fen != held.get(account.id, 0):
            report.breaks.append(Break("ledger_accounts", account.id,
                                       f"冻结金额 {account.pending_fen} 与未结冻结 {held.get(account.id, 0)} 不符",
                                       f"held {account.pending_fen} differs from open holds {held.get(account.id, 0)}"))
    grand_total = sum(posted for posted, _ in sums.values())
    if grand_total:
        report.breaks.append(Break("ledger_postings", "*", f"全部分录合计为 {grand_total}，不为零",
                                   f"all postings sum to {grand_total}, not zero"))


def _verify_audit(conn, report: Report) -> None:
    a = audit_records
    rows = conn.execute(sa.select(a).order_by(a.c.entity, a.c.entity_id, a.c.seq).execution_options(yield_per=2000))
    for (entity, entity_id), records in groupby(rows, key=lambda r: (r.entity, r.entity_id)):
        prev_seq, prev_hash = 0, chain.GENESIS
        for r in records:
            report.audit_records += 1
            where = f"{r.id} ({entity} {entity_id} #{r.seq})"
            digest = chain.link(r.prev_hash, chain.audit_content(at=r.at, actor=r.actor, action=r.action, entity=entity,
                                                                 entity_id=entity_id, details=r.details, seq=r.seq))
            broken = _link_break("audit_records", where, "record", r.seq, r.prev_hash, (prev_seq, prev_hash),
                                 digest, r.hash)
            if broken:
                report.breaks.append(broken)
            prev_seq, prev_hash = r.seq, r.hash


def _link_break(table: str, where: str, noun: str, seq: int, prev_hash: str, last: tuple[int, str],
                recomputed: str, stored: str) -> Break | None:
    """What is wrong with one link of a chain, given the link before it: a gap, a broken link, an edit."""
    last_seq, last_hash = last
    if seq != last_seq + 1:
        return Break(table, where, f"链上缺少第 {last_seq + 1} 条记录", f"the chain is missing {noun} #{last_seq + 1}")
    if prev_hash != last_hash:
        return Break(table, where, "与前一条记录的链接不符", f"its link to the previous {noun} does not match")
    if recomputed != stored:
        return Break(table, where, "记录内容被改动（哈希不符）", f"the {noun} was altered (hash mismatch)")
    return None
