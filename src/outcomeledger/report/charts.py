"""Inline SVG charts for the HTML report: no scripts, no external resources.

Each chart is an ``<svg role="img">`` with a ``<title>`` and a ``<desc>`` that say in
words what it shows (screen readers read them; the tables beside carry the data).
Coordinates are computed in Decimal like everything else, then printed to 0.1 px.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import ROUND_CEILING, Decimal
from html import escape

from ..domain.money import ZERO
from ..domain.ratings import Rating
from .model import PeriodMoney

_PAYABLE, _EARNED, _CAP, _TARGET = "#1f4e9c", "#5f5f5f", "#a3001b", "#a3001b"


def _n(value: Decimal) -> str:
    return f"{value:.1f}"


def _nice_top(value: Decimal) -> tuple[Decimal, Decimal]:
    """An axis maximum at or above ``value`` and a tick step giving 4–5 gridlines."""
    if value <= 0:
        return Decimal(1), Decimal("0.25")
    magnitude = Decimal(10) ** (value.adjusted() - 1)
    for multiplier in (1, 2, Decimal("2.5"), 5, 10, 20, 25, 50, 100):
        step = magnitude * multiplier
        if value / step <= 5:
            top = (value / step).to_integral_value(rounding=ROUND_CEILING) * step
            return top, step
    return value, value / 5  # unreachable: the last multiplier always fits


def _open(ident: str, width: int, height: int, title: str, desc: str) -> list[str]:
    return [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
            f'width="100%" role="img" aria-labelledby="{ident}-title {ident}-desc" '
            f'class="chart-svg" style="max-width:{width}px">',
            f'<title id="{ident}-title">{escape(title)}</title>',
            f'<desc id="{ident}-desc">{escape(desc)}</desc>']


def _legend(x: int, y: int, items: Sequence[tuple[str, str, bool]]) -> list[str]:
    out = []
    for i, (label, colour, dashed) in enumerate(items):
        top = y + i * 18
        dash = ' stroke-dasharray="6 4"' if dashed else ""
        out.append(f'<line x1="{x}" y1="{top}" x2="{x + 24}" y2="{top}" stroke="{colour}" '
                   f'stroke-width="3"{dash}/>')
        out.append(f'<text x="{x + 30}" y="{top + 4}">{escape(label)}</text>')
    return out


def payable_vs_cap(ident: str, periods: Sequence[PeriodMoney], currency: str) -> str:
    """Cumulative payable and earned over the periods, against the contract cap."""
    if not periods:
        return ""
    width, height, left, right, top, bottom = 760, 340, 96, 24, 56, 78
    plot_w, plot_h = Decimal(width - left - right), Decimal(height - top - bottom)
    earned = _running_totals([p.earned for p in periods])
    payable = [p.cumulative_payable for p in periods]
    caps = [p.contract_cap for p in periods]
    highest = max([*earned, *payable, *(c for c in caps if c is not None)])
    ymax, step = _nice_top(highest)
    span = max(len(periods) - 1, 1)

    def x(i: int) -> Decimal:
        return left + plot_w * i / span

    def y(v: Decimal) -> Decimal:
        return top + plot_h - plot_h * v / ymax

    out = _open(ident, width, height, "Cumulative payable against the contract cap",
                _payable_desc(periods, earned[-1], currency))
    out += ['<g class="axis" font-size="12" fill="#1a1a1a">',
            *_gridlines(ymax, step, y, left, width - right),
            *_period_labels(periods, x, height - bottom + 16), "</g>"]

    def line(values: Sequence[Decimal | None], colour: str, dashed: bool) -> str:
        points = " ".join(f"{_n(x(i))},{_n(y(v))}" for i, v in enumerate(values)
                          if v is not None)
        dash = ' stroke-dasharray="6 4"' if dashed else ""
        return (f'<polyline points="{points}" fill="none" stroke="{colour}" '
                f'stroke-width="2.5"{dash}/>')

    if any(c is not None for c in caps):
        out.append(line(caps, _CAP, True))
    out.append(line(earned, _EARNED, True))
    out.append(line(payable, _PAYABLE, False))
    for i, p in enumerate(periods):
        out.append(f'<circle cx="{_n(x(i))}" cy="{_n(y(p.cumulative_payable))}" r="3.5" '
                   f'fill="{_PAYABLE}"><title>{escape(p.period)}: cumulative payable '
                   f'{p.cumulative_payable:,}</title></circle>')
    legend = [("cumulative payable", _PAYABLE, False), ("cumulative earned", _EARNED, True)]
    if any(c is not None for c in caps):
        legend.append(("contract cap", _CAP, True))
    out += ['<g font-size="12" fill="#1a1a1a">', *_legend(left, 14, legend[:2]),
            *_legend(left + 260, 14, legend[2:]), "</g>", "</svg>"]
    return "\n".join(out)


def _running_totals(amounts: Sequence[Decimal]) -> list[Decimal]:
    totals: list[Decimal] = []
    running = ZERO
    for amount in amounts:
        running += amount
        totals.append(running)
    return totals


def _payable_desc(periods: Sequence[PeriodMoney], earned: Decimal, currency: str) -> str:
    """The chart in words (its ``<desc>``)."""
    last = periods[-1]
    cap_text = ("no contract cap" if last.contract_cap is None
                else f"a contract cap of {last.contract_cap:,} {currency}")
    return (f"Line chart over {len(periods)} periods, {periods[0].period} to {last.period}. "
            f"Cumulative payable reaches {last.cumulative_payable:,} {currency} against "
            f"{cap_text}; cumulative earned at the rate card reaches {earned:,}.")


def _gridlines(ymax: Decimal, step: Decimal, y: Callable[[Decimal], Decimal], left: int,
               right: int) -> list[str]:
    """A gridline from ``left`` to ``right`` and its amount at every tick up to ``ymax``."""
    out = []
    tick = ZERO
    while tick <= ymax:
        out.append(f'<line x1="{left}" x2="{right}" y1="{_n(y(tick))}" '
                   f'y2="{_n(y(tick))}" stroke="#d0d0d0"/>')
        out.append(f'<text x="{left - 8}" y="{_n(y(tick) + 4)}" text-anchor="end">'
                   f'{tick:,.0f}</text>')
        tick += step
    return out


def _period_labels(periods: Sequence[PeriodMoney], x: Callable[[int], Decimal],
                   baseline: int) -> list[str]:
    """The periods' names along the bottom, slanted: about twelve at most, and the last."""
    every = max(1, -(-len(periods) // 12))
    return [f'<text x="{_n(x(i))}" y="{baseline}" text-anchor="end" '
            f'transform="rotate(-40 {_n(x(i))} {baseline})">{escape(p.period)}</text>'
            for i, p in enumerate(periods) if i % every == 0 or i == len(periods) - 1]


def actual_vs_target(ident: str, items: Sequence[tuple[str, Decimal, Decimal, Rating]]) -> str:
    """Horizontal bars: cumulative actual per outcome, with its target marked."""
    if not items:
        return ""
    row, label_w, bar_w, top = 36, 190, 400, 44
    width, height = label_w + bar_w + 170, top + row * len(items) + 16
    scale_max, _step = _nice_top(max(max(a, t) for _l, a, t, _r in items))
    desc = "; ".join(f"{label}: {actual:,} against a target of {target:,} ({rating})"
                     for label, actual, target, rating in items)
    out = _open(ident, width, height, "Cumulative actual against target", desc + ".")
    out += ['<g font-size="12" fill="#1a1a1a">',
            f'<rect x="{label_w}" y="8" width="14" height="12" fill="{_PAYABLE}"/>',
            f'<text x="{label_w + 20}" y="18">actual (cumulative)</text>',
            f'<line x1="{label_w + 170}" y1="6" x2="{label_w + 170}" y2="22" '
            f'stroke="{_TARGET}" stroke-width="3"/>',
            f'<text x="{label_w + 178}" y="18">target</text>']
    for i, (label, actual, target, rating) in enumerate(items):
        y0 = top + i * row
        length = Decimal(bar_w) * actual / scale_max
        mark = label_w + Decimal(bar_w) * target / scale_max
        pct = f"{actual * 100 / target:.0f}%" if target else "-"
        out += [f'<text x="{label_w - 8}" y="{y0 + 15}" text-anchor="end">{escape(label)}</text>',
                f'<rect x="{label_w}" y="{y0 + 4}" width="{_n(length)}" height="16" '
                f'fill="{_PAYABLE}"/>',
                f'<line x1="{_n(mark)}" x2="{_n(mark)}" y1="{y0}" y2="{y0 + 24}" '
                f'stroke="{_TARGET}" stroke-width="3"/>',
                f'<text x="{label_w + bar_w + 10}" y="{y0 + 15}">{actual:,} / {target:,} '
                f'({pct}, {escape(rating)})</text>']
    out += ["</g>", "</svg>"]
    return "\n".join(out)
