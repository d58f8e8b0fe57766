"""The history chart, drawn on the server with pygal: the monthly inflow and outflow of the personal account as
bars and its balance at each month's end as a line, two panels of one SVG document. No script is referenced;
pygal styles its drawing inline, so the answer carries its own narrow content policy (CHART_POLICY)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pygal
from pygal.style import Style

CHART_POLICY = "default-src 'none'; style-src 'unsafe-inline'"
WIDTH, PANEL_HEIGHT = 720, 300
_LOOK = {"background": "#ffffff", "plot_background": "#ffffff", "foreground": "#1f2933",
         "foreground_strong": "#1f2933", "foreground_subtle": "#52606d", "font_family": "sans-serif",
         "title_font_size": 18, "label_font_size": 13, "major_label_font_size": 13, "legend_font_size": 14,
         "value_font_size": 12, "tooltip_font_size": 12}
FLOWS_STYLE = Style(colors=("#1b6e3a", "#b42318"), **_LOOK)  # in green, out red
BALANCE_STYLE = Style(colors=("#1d4ed8",), **_LOOK)


@dataclass(frozen=True)
class Month:
    """One month of the account: money in, money out (positive fen) and the balance after its last entry."""

    month: str  # YYYY-MM
    inflow_fen: int
    outflow_fen: int
    balance_fen: int


def monthly(lines: Iterable, opening_balance_fen: int = 0) -> list[Month]:
    """Statement lines (oldest first) summed by their business month; months without entries are left out."""
    months: dict[str, list[int]] = {}
    balance = opening_balance_fen
    for line in lines:
        key = line.business_date.strftime("%Y-%m")
        sums = months.setdefault(key, [0, 0, balance])
        if line.amount_fen >= 0:
            sums[0] += line.amount_fen
        else:
            sums[1] -= line.amount_fen
        balance = line.balance_after_fen
        sums[2] = balance
    return [Month(key, inflow, outflow, end) for key, (inflow, outflow, end) in months.items()]


@dataclass(frozen=True)
class Texts:
    """The chart's words in the page's language."""

    flows_title: str
    balance_title: str
    inflow: str
    outflow: str
    balance: str
    empty: str


def _config(title: str, style: Style, money: Callable[[int], str], texts: Texts) -> dict:
    return {"title": title, "style": style, "js": [], "width": WIDTH, "height": PANEL_HEIGHT,
            "disable_xml_declaration": True, "explicit_size": True, "show_legend": True, "legend_at_bottom": True,
            "value_formatter": lambda yuan: money(round((yuan or 0) * 100)), "no_data_text": texts.empty,
            "x_label_rotation": 30, "print_values": False, "margin": 16}


def _panel(svg: str, y: int) -> str:
    """An inner drawing placed at height y of the outer document, without the configuration script pygal always
    writes (nothing would run it: an image runs no script, and the policy allows none) and its comments."""
    svg = re.sub(r"<script\b.*?</script>|<!--.*?-->", "", svg.strip(), flags=re.DOTALL)
    return re.sub(r"^<svg\b", f'<svg x="0" y="{y}"', svg, count=1)


def history_svg(months: list[Month], *, money: Callable[[int], str], texts: Texts, title: str) -> bytes:
    """The two panels (flows as bars, balance as a line) as one standalone SVG document."""
    labels = [m.month for m in months]
    flows = pygal.Bar(**_config(texts.flows_title, FLOWS_STYLE, money, texts))
    flows.x_labels = labels
    flows.add(texts.inflow, [m.inflow_fen / 100 for m in months])
    flows.add(texts.outflow, [m.outflow_fen / 100 for m in months])
    balance = pygal.Line(**_config(texts.balance_title, BALANCE_STYLE, money, texts), dots_size=4)
    balance.x_labels = labels
    balance.add(texts.balance, [m.balance_fen / 100 for m in months])
    inner = _panel(flows.render(is_unicode=True), 0) + _panel(balance.render(is_unicode=True), PANEL_HEIGHT)
    height = 2 * PANEL_HEIGHT
    document = (f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
                f'width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" role="img">'
                f"<title>{_escape(title)}</title>{inner}</svg>")
    return document.encode()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
