"""What a what-if reports: the decisions that change, the account outflow and cash change, the persons and
institutions affected and the biggest changes, as CSV files, an SVG chart and an HTML summary."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import jinja2
import numpy as np
import pygal

from yibao.analytics.simulate import Outcome
from yibao.domain.money import yuan

BIGGEST = 20


@dataclass(frozen=True)
class Summary:
    """The totals of a what-if (money in fen)."""

    region: str
    date_from: str
    date_to: str
    settlements: int
    changed: int
    refused: int
    account_recorded_fen: int
    account_proposed_fen: int
    cash_recorded_fen: int
    cash_proposed_fen: int
    persons_affected: int
    institutions_affected: int

    @property
    def account_change_fen(self) -> int:
        return self.account_proposed_fen - self.account_recorded_fen

    @property
    def cash_change_fen(self) -> int:
        return self.cash_proposed_fen - self.cash_recorded_fen


def _by(keys: np.ndarray, *values: np.ndarray) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
    """Distinct keys, each value column summed per key, and the count per key."""
    names, inverse = np.unique(keys.astype(str), return_inverse=True)
    inverse = inverse.reshape(-1)
    sums = [np.bincount(inverse, weights=v, minlength=len(names)).astype(np.int64) for v in values]
    return names, sums, np.bincount(inverse, minlength=len(names))


def summarise(outcome: Outcome, region: str, date_from: str, date_to: str) -> Summary:
    """The totals of the outcome."""
    s, changed = outcome.settlements, outcome.changed
    return Summary(region, date_from, date_to, len(s), int(changed.sum()), int((~outcome.allowed).sum()),
                   int(s.account_paid_fen.sum()), int(outcome.account_fen.sum()), int(s.cash_fen.sum()),
                   int(outcome.cash_fen.sum()), len(np.unique(s.owner_id[changed].astype(str))),
                   len(np.unique(s.institution_code[changed].astype(str))))


def changes(outcome: Outcome) -> list[dict]:
    """One row per settlement decided otherwise, the biggest change in what the account pays first."""
    s = outcome.settlements
    rows = np.flatnonzero(outcome.changed)
    delta = outcome.account_fen[rows] - s.account_paid_fen[rows]
    rows = rows[np.lexsort((s.settlement_id[rows].astype(str), -np.abs(delta)))]
    return [{"settlement_id": str(s.settlement_id[i]), "owner_id": str(s.owner_id[i]),
             "institution_code": str(s.institution_code[i]), "business_date": str(s.business_date[i]),
             "total_fen": int(s.total_fen[i]), "account_recorded_fen": int(s.account_paid_fen[i]),
             "account_proposed_fen": int(outcome.account_fen[i]), "cash_recorded_fen": int(s.cash_fen[i]),
             "cash_proposed_fen": int(outcome.cash_fen[i]), "allowed": bool(outcome.allowed[i]),
             "limited_by_recorded": str(s.limited_by[i]), "limited_by_proposed": outcome.limited_by(i)}
            for i in rows]


def affected(outcome: Outcome, column: str) -> list[dict]:
    """Per owner (column "owner_id") or institution ("institution_code") with a changed decision: how many
    changed and the change in account outflow and cash, the biggest first."""
    s, changed = outcome.settlements, outcome.changed
    names, (account, cash), counts = _by(getattr(s, column)[changed],
                                         (outcome.account_fen - s.account_paid_fen)[changed],
                                         (outcome.cash_fen - s.cash_fen)[changed])
    order = np.lexsort((names, account))
    return [{column: str(names[i]), "changed": int(counts[i]), "account_change_fen": int(account[i]),
             "cash_change_fen": int(cash[i])} for i in order]


def _csv(path: Path, rows: list[dict], header: list[str]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)


def chart(outcome: Outcome) -> str:
    """An SVG bar chart of the account outflow per day, recorded and proposed (yuan)."""
    s = outcome.settlements
    days, (recorded, proposed), _ = _by(s.business_date, s.account_paid_fen, outcome.account_fen)
    bars = pygal.Bar(x_label_rotation=45, show_minor_x_labels=False, height=400, width=900,
                     title="个人账户支付（元）/ Account outflow a day (yuan)")
    bars.x_labels = [str(d) for d in days]
    bars.x_labels_major = [str(d) for d in days[:: max(1, len(days) // 12)]]
    bars.add("现行 / recorded", [int(x) / 100 for x in recorded])
    bars.add("拟议 / proposed", [int(x) / 100 for x in proposed])
    return bars.render(is_unicode=True)


_PAGE = jinja2.Environment(autoescape=True).from_string("""<!doctype html>
<html lang="zh"><head><meta charset="utf-8"><title>政策模拟 / Policy what-if {{ s.region }}</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;
padding:.2em .5em;text-align:right}th:first-child,td:first-child{text-align:left}</style></head><body>
<h1>政策模拟 / Policy what-if: {{ s.region }}, {{ s.date_from }} – {{ s.date_to }}</h1>
<table>
<tr><th>重新决定的结算 / settlements re-decided</th><td>{{ s.settlements }}</td></tr>
<tr><th>决定改变 / decisions that change</th><td>{{ s.changed }}</td></tr>
<tr><th>其中被拒绝 / of which refused</th><td>{{ s.refused }}</td></tr>
<tr><th>个人账户支出 / account outflow</th><td>{{ yuan(s.account_recorded_fen) }} → {{ yuan(s.account_proposed_fen) }}
 ({{ yuan(s.account_change_fen) }})</td></tr>
<tr><th>现金 / cash</th><td>{{ yuan(s.cash_recorded_fen) }} → {{ yuan(s.cash_proposed_fen) }}
 ({{ yuan(s.cash_change_fen) }})</td></tr>
<tr><th>受影响人数 / persons affected</th><td>{{ s.persons_affected }}</td></tr>
<tr><th>受影响机构 / institutions affected</th><td>{{ s.institutions_affected }}</td></tr>
</table>
<p><img src="chart.svg" alt="account outflow a day"></p>
<h2>变化最大 / Biggest changes</h2>
<table><tr><th>结算 / settlement</th><th>人员 / person</th><th>机构 / institution</th><th>日期 / day</th>
<th>账户 现行 / recorded</th><th>账户 拟议 / proposed</th><th>限制 / limited by</th></tr>
{% for c in biggest %}<tr><td>{{ c.settlement_id }}</td><td>{{ c.owner_id }}</td><td>{{ c.institution_code }}</td>
<td>{{ c.business_date }}</td><td>{{ yuan(c.account_recorded_fen) }}</td><td>{{ yuan(c.account_proposed_fen) }}</td>
<td>{{ c.limited_by_proposed }}{% if not c.allowed %} (refused / 拒绝){% endif %}</td></tr>
{% endfor %}</table>
<p>CSV: <a href="changes.csv">changes.csv</a>, <a href="persons.csv">persons.csv</a>,
<a href="institutions.csv">institutions.csv</a>, <a href="summary.csv">summary.csv</a></p>
</body></html>
""")


CHANGE_COLUMNS = ["settlement_id", "owner_id", "institution_code", "business_date", "total_fen",
                  "account_recorded_fen", "account_proposed_fen", "cash_recorded_fen", "cash_proposed_fen", "allowed",
                  "limited_by_recorded", "limited_by_proposed"]


def write(outcome: Outcome, out: Path, *, region: str, date_from: str, date_to: str) -> Summary:
    """Write summary.csv, changes.csv, persons.csv, institutions.csv, chart.svg and index.html into `out`."""
    return write_files(out, summarise(outcome, region, date_from, date_to), changed=outcome, daily=outcome)


def write_files(out: Path, summary: Summary, *, changed: Outcome, daily: Outcome) -> Summary:
    """The report's files from its summary, an outcome holding (at least) the changed settlements, and one whose
    accounts per business day make the chart (the whole outcome, or a day's totals per row)."""
    out.mkdir(parents=True, exist_ok=True)
    totals = {**summary.__dict__, "account_change_fen": summary.account_change_fen,
              "cash_change_fen": summary.cash_change_fen}
    _csv(out / "summary.csv", [totals], list(totals))
    rows = changes(changed)
    _csv(out / "changes.csv", rows, CHANGE_COLUMNS)
    for column, name in (("owner_id", "persons.csv"), ("institution_code", "institutions.csv")):
        _csv(out / name, affected(changed, column), [column, "changed", "account_change_fen", "cash_change_fen"])
    (out / "chart.svg").write_text(chart(daily), encoding="utf-8")
    (out / "index.html").write_text(_PAGE.render(s=summary, biggest=rows[:BIGGEST], yuan=yuan), encoding="utf-8")
    return summary
