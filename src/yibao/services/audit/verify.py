"""Tamper evidence: recompute every hash chain and balance, and name the first row that does not hold.

Checks, in order: each account's chain of entries (sequence, links, each entry's hash over its content
and postings, the head kept on the account row), each guarded account's balance against its postings
and pending holds, the zero sum of all postings, each audited entity's chain of audit records, every
sealed row against the newest seal its audit records carry (ledger.seals: settlements, refunds,
application steps, vouchers, cash vouchers, idempotency answers, and entries a use case sealed), each
settlement's entry against its settlement row, each application's status against its last step, and, given the heads and counts of a checkpoint
(services.checkpoints), every chain against them: a chain shorter than it was, or rewritten up to a head
the checkpoint signed, is named at that row, so removing the newest record of a chain is seen too.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from itertools import groupby

from yibao.ledger import chain, seals
from yibao.ledger.accounts import Account
from yibao.ledger.entries import EntryKind, entry_hash
from yibao.services.audit.ports import AuditTrail
from yibao.services.context import Context

COUNTED = ("ledger_entries", "ledger_postings", "audit_records", *seals.COLUMNS)


@dataclass
class Anchors:
    """What checkpoints signed: per chain ((table, chain) -> {seq: (hash, checkpoint no.)}) and per table
    (table -> (rows, checkpoint no.)), the greatest count signed."""

    heads: dict[tuple[str, str], dict[int, tuple[str, int]]] = field(default_factory=lambda: defaultdict(dict))
    counts: dict[str, tuple[int, int]] = field(default_factory=dict)


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
    sealed_rows: int = 0
    breaks: list[Break] = field(default_factory=list)
    # The head of every chain as walked ((table, chain) -> (seq, hash)) and the rows of each counted table.
    heads: dict[tuple[str, str], tuple[int, str]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.breaks


def verify(ctx: Context, *, anchors: Anchors | None = None) -> Report:
    """Walk every chain, balance and seal (and, given them, a checkpoint's anchors); the first break is the
    first of `breaks`."""
    report, anchors = Report(), anchors or Anchors()
    with ctx.uow() as uow:
        trail = uow.audit_trail
        accounts = {a.id: a for a in uow.ledger.all_accounts()}
        report.accounts = len(accounts)
        audit, anchored = Report(), []
        sealed = _verify_audit(trail, audit, report.heads, anchors, anchored)
        settled = _verify_entries(trail, accounts, report, sealed, anchors, anchored)
        _verify_balances(trail, accounts, report)
        report.audit_records, report.breaks = audit.audit_records, report.breaks + audit.breaks
        _verify_seals(trail, sealed, settled, report)
        _verify_applications(trail, report)
        _verify_anchors(anchors, report, anchored)
        _verify_counts(trail, anchors, report)
    return report


def _verify_entries(trail: AuditTrail, accounts: dict[str, Account], report: Report, sealed: dict, anchors: Anchors,
                    anchored: list[Break]) -> dict[str, str]:
    """The ledger's chains; the settlement each settlement entry names ({settlement id: entry id})."""
    seen: dict[str, tuple[int, str]] = {}  # account -> (last seq, last hash)
    settled: dict[str, str] = {}
    for entry in trail.entries():
        entry_id = entry.id
        report.entries += 1
        where = f"{entry_id} ({entry.anchor_account_id} #{entry.anchor_seq})"
        last = seen.get(entry.anchor_account_id, (0, chain.GENESIS))
        recomputed = entry_hash(entry)
        broken = _link_break("ledger_entries", where, "entry", entry.anchor_seq, entry.prev_hash, last,
                             recomputed, entry.hash)
        if broken:
            report.breaks.append(broken)
        elif sum(p.amount_fen for p in entry.postings) != 0 or len(entry.postings) < 2:
            report.breaks.append(Break("ledger_entries", where, "分录合计不为零",
                                       "its postings do not sum to zero"))
        seal = sealed.pop(("ledger_entries", (entry_id,)), None)
        if seal is not None and seal[1] != recomputed:
            report.breaks.append(_sealed_break("ledger_entries", where, seal))
        _check_anchor(anchors, anchored, "ledger_entries", entry.anchor_account_id, entry.anchor_seq, entry.hash,
                      where)
        if entry.kind == EntryKind.SETTLEMENT and entry.details.get("settlement_id"):
            settled[entry.details["settlement_id"]] = entry_id
        seen[entry.anchor_account_id] = (entry.anchor_seq, entry.hash)
    for account in accounts.values():
        last_seq, last_hash = seen.get(account.id, (0, chain.GENESIS))
        if last_seq:
            report.heads[("ledger_entries", account.id)] = (last_seq, last_hash)
        if (last_seq, last_hash) != (account.chain_length, account.chain_head):
            report.breaks.append(Break("ledger_accounts", account.id, "账户记录的链头与链上最后一条记录不符",
                                       "the chain head kept on the account does not match its last entry"))
    for account_id in seen.keys() - accounts.keys():
        report.heads[("ledger_entries", account_id)] = seen[account_id]
    return settled


def _verify_balances(trail: AuditTrail, accounts: dict[str, Account], report: Report) -> None:
    sums, held = trail.posting_sums(), trail.pending_holds()
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


def _verify_audit(trail: AuditTrail, report: Report, heads: dict, anchors: Anchors, anchored: list[Break]) -> dict:
    """The audit chains; the newest seal of every sealed row ({(table, key): (record id, digest, where)})."""
    sealed: dict[tuple[str, tuple[str, ...]], tuple[int, str | None, str]] = {}
    for (entity, entity_id), records in groupby(trail.audit_links(), key=lambda r: (r.entity, r.entity_id)):
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
            _check_anchor(anchors, anchored, "audit_records", f"{entity} {entity_id}", r.seq, r.hash, where)
            for table, key, sealed_digest in (r.details or {}).get("seals", []) if isinstance(r.details, dict) else []:
                wanted = (table, tuple(key))
                if wanted not in sealed or sealed[wanted][0] < r.id:
                    sealed[wanted] = (r.id, sealed_digest, where)
            prev_seq, prev_hash = r.seq, r.hash
        heads[("audit_records", f"{entity} {entity_id}")] = (prev_seq, prev_hash)
    return sealed


def _sealed_break(table: str, where: str, seal: tuple) -> Break:
    record = seal[2]
    return Break(table, where, f"与审计记录 {record} 中的封存摘要不符（记录被改动）",
                 f"differs from its seal in audit record {record} (the row was altered)")


def _verify_seals(trail: AuditTrail, sealed: dict, settled: dict[str, str], report: Report) -> None:
    """Every row of the sealed tables against its newest seal; seals whose row is gone; settlement entries
    whose settlement is gone."""
    present_settlements: set[str] = set()
    for name in seals.COLUMNS:
        for values in trail.sealed_rows(name, (*seals.COLUMNS[name], *seals.ADDED_LATER.get(name, ()))):
            key = tuple(seals.key_of(name, values))
            where = "/".join(key)
            if name == "settlements":
                present_settlements.add(key[0])
            seal = sealed.pop((name, key), None)
            if seal is None:
                if name == "idempotency_keys" and values["response"] is None:
                    continue  # claimed, never answered: nothing to seal
                report.breaks.append(Break(name, where, "该行没有封存记录（绕过业务写入）",
                                           "the row has no seal (it was written behind the services' back)"))
                continue
            report.sealed_rows += 1
            if seal[1] is None:
                report.breaks.append(Break(name, where, f"审计记录 {seal[2]} 记载该行已移除，但它仍在",
                                           f"audit record {seal[2]} records the row as removed, yet it is there"))
            elif seal[1] != seals.digest_of(name, values):
                report.breaks.append(_sealed_break(name, where, seal))
    for (name, key), (_, digest, record) in sorted(sealed.items()):
        if digest is not None:
            report.breaks.append(Break(name, "/".join(key), f"该行已被删除（审计记录 {record} 封存过它）",
                                       f"the row was removed (audit record {record} sealed it)"))
    for settlement_id, entry_id in sorted(settled.items()):
        if settlement_id not in present_settlements:
            report.breaks.append(Break("settlements", settlement_id, f"结算记录缺失，其记账 {entry_id} 仍在",
                                       f"the settlement is missing; its ledger entry {entry_id} remains"))


def _verify_applications(trail: AuditTrail, report: Report) -> None:
    """An application's status is where its last step (sealed) took it."""
    for application_id, status, to_status in trail.application_ends():
        if status != to_status:
            report.breaks.append(Break("applications", application_id, f"状态 {status} 与其最后一步 {to_status} 不符",
                                       f"its status {status} is not where its last step took it ({to_status})"))


def _check_anchor(anchors: Anchors, anchored: list[Break], table: str, chain_key: str, seq: int, stored: str,
                  where: str) -> None:
    signed = anchors.heads.get((table, chain_key), {}).get(seq)
    if signed is not None and signed[0] != stored:
        anchored.append(Break(table, where, f"与第 {signed[1]} 号检查点签署的链头不符（链被改写）",
                              f"differs from the head checkpoint #{signed[1]} signed (the chain was rewritten)"))


def _verify_anchors(anchors: Anchors, report: Report, anchored: list[Break]) -> None:
    """Chains shorter than a checkpoint signed them: their newest records were removed."""
    report.breaks.extend(anchored)
    for (table, chain_key), signed in sorted(anchors.heads.items()):
        length = report.heads.get((table, chain_key), (0, ""))[0]
        for seq in sorted(s for s in signed if s > length):
            report.breaks.append(Break(table, f"{chain_key} #{seq}",
                                       f"链上第 {seq} 条记录已被删除（第 {signed[seq][1]} 号检查点签署过它）",
                                       f"record #{seq} of the chain was removed (checkpoint #{signed[seq][1]} "
                                       "signed it)"))


def _verify_counts(trail: AuditTrail, anchors: Anchors, report: Report) -> None:
    report.counts.update(trail.row_counts(COUNTED))
    for name in COUNTED:
        signed = anchors.counts.get(name)
        if signed is not None and report.counts[name] < signed[0]:
            report.breaks.append(Break(name, "*", f"现有 {report.counts[name]} 行，第 {signed[1]} 号检查点时有 {signed[0]} 行",
                                       f"{report.counts[name]} rows, checkpoint #{signed[1]} counted {signed[0]}"))


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
