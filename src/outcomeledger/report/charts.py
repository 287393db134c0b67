"""The HTML report's charts: Vega-Lite specifications built with altair, rendered offline
to inline SVG by vl-convert (no script in the page, no fetch at render or read time).

Each chart is an ``<svg role="img">`` with a ``<title>`` and a ``<desc>`` that say in
words what it shows (screen readers read them; the page links each chart to the table
holding its data). Amounts go into the specification as their decimal text and Vega
parses them for drawing: no float is made of an amount here.

Rendering costs about 0.2 s a chart once vl-convert is started (about 0.5 s, once per
process); ``validate=True`` (the tests) also checks each specification against the
Vega-Lite schema, which would add about 0.1 s a chart to every report.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from decimal import ROUND_CEILING, Decimal
from functools import lru_cache
from html import escape
from textwrap import wrap
from typing import Any

from ..domain.money import ZERO
from ..domain.ratings import Rating
from .model import PeriodMoney, RatingScale

_PAYABLE, _EARNED, _CAP = "#1f4e9c", "#5f5f5f", "#a3001b"
#: The rating bands' tints: the page's rating badges (style.py), lighter.
_BANDS: tuple[tuple[Rating, str], ...] = (
    ("inadequate", "#f9d3d3"), ("requires improvement", "#ffe0c4"),
    ("approaching target", "#fff1c2"), ("good", "#dcf1e1"))
#: Percent of target beyond which bars are cut (their label gives the figure).
_PCT_CEILING = Decimal(200)
#: A cap more than this times the highest other amount is named, not drawn: drawn, it
#: flattens the lines that matter against the bottom of the chart.
_CAP_FAR = Decimal("1.5")
_FONT = "DejaVu Sans, Verdana, sans-serif"
_WIDE = 380  # the targets chart's plot width on a screen


def _title(title: str, subtitle: str, narrow: bool) -> Any:
    """A chart's title and subtitle, in lines short enough for a phone if ``narrow``."""
    import altair as alt

    if not narrow:
        return alt.Title(title, subtitle=subtitle)
    return alt.Title(wrap(title, 34), subtitle=wrap(subtitle, 44))


def _config(narrow: bool = False) -> dict[str, Any]:
    """Shared look: the page's ink, a font wide enough to measure safely, no ARIA on
    every mark (the ``<svg>`` as a whole is the image, described in words); the legend
    in one column on a phone."""
    return {"font": _FONT, "aria": False, "background": None,
            "view": {"stroke": None},
            "axis": {"labelColor": "#1a1a1a", "titleColor": "#1a1a1a", "labelFontSize": 12,
                     "titleFontSize": 12, "gridColor": "#d0d0d0", "domainColor": "#888"},
            "legend": {"labelFontSize": 12, "titleFontSize": 12, "orient": "top",
                       "symbolType": "stroke", "symbolStrokeWidth": 2.5,
                       **({"columns": 2} if narrow else {}),
                       "labelColor": "#1a1a1a", "titleColor": "#1a1a1a"},
            "title": {"fontSize": 14, "subtitleFontSize": 12, "anchor": "start",
                      "color": "#1a1a1a", "subtitleColor": "#4a4a4a"}}


@lru_cache(maxsize=64)
def _svg(spec_json: str) -> str:
    """One specification rendered to SVG. vl-convert starts its JavaScript engine on the
    first call (about half a second) and keeps it for the process; equal specifications
    are rendered once."""
    import vl_convert

    return vl_convert.vegalite_to_svg(json.loads(spec_json))


_ROOT = re.compile(r"<svg\b[^>]*>")
_SIZE = re.compile(r'width="([\d.]+)" height="([\d.]+)"')


def _inline(spec: dict[str, Any], ident: str, title: str, desc: str) -> str:
    """The chart as inline SVG that scales to its container, with its text alternative."""
    svg = _svg(json.dumps(spec, sort_keys=True))
    root = _ROOT.search(svg)
    assert root is not None, "vl-convert returned no <svg>"
    size = _SIZE.search(root[0])
    assert size is not None, "vl-convert's <svg> has no size"
    width, height = size[1], size[2]
    opening = (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
               f'width="100%" role="img" aria-labelledby="{ident}-title {ident}-desc" '
               f'class="chart-svg" style="max-width:{width}px">'
               f'<title id="{ident}-title">{escape(title)}</title>'
               f'<desc id="{ident}-desc">{escape(desc)}</desc>')
    return opening + svg[root.end():]


def _text(value: Decimal) -> str:
    """An amount as Vega reads it: plain digits, parsed to a number in the chart."""
    return format(value, "f")


def actual_vs_target(ident: str, items: Sequence[tuple[str, Decimal, Decimal, Rating]],
                     scale: RatingScale, *, narrow: bool = False,
                     validate: bool = False) -> str:
    """Horizontal bars: each outcome's cumulative actual as a percentage of its own
    target, over the reg. 39 rating bands (units of unrelated outcomes never share an
    axis). ``narrow``: for a phone, each bar's words above it instead of beside it."""
    rated = [(label, actual, target, rating) for label, actual, target, rating in items
             if target > 0]
    if not rated:
        return ""
    import altair as alt

    rows = []
    for label, actual, target, rating in rated:
        pct = actual * 100 / target
        words = f"{actual:,} of {target:,}: {pct:.0f}%, {rating}"
        rows.append({"outcome": label, "pct": _text(min(pct, _PCT_CEILING)),
                     "label": f"{label}: {words}" if narrow else words})
    top = max(Decimal(125), min(_PCT_CEILING, max(Decimal(r["pct"]) for r in rows)))
    top = (top / 25).to_integral_value(rounding=ROUND_CEILING) * 25
    edges = [ZERO, scale.requires_improvement * 100, scale.approaching * 100,
             scale.good * 100, top]
    bands = [{"band": name, "from": _text(edges[i]), "to": _text(edges[i + 1])}
             for i, (name, _tint) in enumerate(_BANDS)]
    order = [r["outcome"] for r in rows]
    ticks = sorted({int(e) if e == e.to_integral_value() else float(e) for e in edges[1:4]}
                   | set(range(0, int(top) + 1, 50)))
    x = alt.X("pct:Q", title="% of target (cumulative)",
              scale=alt.Scale(domain=[0, int(top)], nice=False, clamp=True),
              axis=alt.Axis(values=ticks, labelOverlap="greedy", labelSeparation=4))
    band_layer = alt.Chart(alt.InlineData(
        values=bands, format=alt.JsonDataFormat(parse={"from": "number", "to": "number"}))
    ).mark_rect().encode(
        x=alt.X("from:Q", scale=alt.Scale(domain=[0, int(top)], nice=False),
                title="% of target (cumulative)"),
        x2="to:Q",
        color=alt.Color("band:N", title=None, sort=[n for n, _ in _BANDS],
                        legend=alt.Legend(symbolType="square", symbolStrokeWidth=0),
                        scale=alt.Scale(domain=[n for n, _ in _BANDS],
                                        range=[t for _, t in _BANDS])))
    target = alt.Chart(alt.InlineData(values=[{"at": 100}])).mark_rule(
        color=_CAP, strokeWidth=2).encode(x=alt.X("at:Q", scale=alt.Scale(
            domain=[0, int(top)], nice=False)))
    data = alt.InlineData(values=rows, format=alt.JsonDataFormat(parse={"pct": "number"}))
    y = alt.Y("outcome:N", sort=order, title=None,
              axis=None if narrow else alt.Axis(labelLimit=220, labelFontSize=12))
    bars = alt.Chart(data).mark_bar(color=_PAYABLE, height=14).encode(x=x, y=y)
    labels = (alt.Chart(data).mark_text(align="left", baseline="bottom", dy=-8, fontSize=12,
                                        color="#1a1a1a").encode(x=alt.value(0), y=y,
                                                                text="label:N")
              if narrow else
              # In a column right of the plot: never over a bar, a band edge or the rule.
              alt.Chart(data).mark_text(align="left", dx=8, fontSize=12,
                                        color="#1a1a1a").encode(x=alt.value(_WIDE), y=y,
                                                                text="label:N"))
    chart = alt.layer(band_layer, target, bars, labels).properties(
        width=290 if narrow else _WIDE, height=alt.Step(46 if narrow else 30),
        title=_title("Cumulative actual as a percentage of target",
                     "Shaded by the reg. 39 rating bands; the red rule is the target (100%)",
                     narrow))
    spec = chart.to_dict(validate=validate)
    spec["config"] = _config(narrow)
    if not narrow:  # room for the words beside the longest bar
        spec["padding"] = {"left": 5, "top": 5, "bottom": 5, "right": 230}
    desc = "; ".join(f"{label}: {actual:,} against a target of {target:,} "
                     f"({actual * 100 / target:.0f}%, {rating})"
                     for label, actual, target, rating in rated)
    return _inline(spec, ident, "Cumulative actual as a percentage of target", desc + ".")


def payable_vs_cap(ident: str, periods: Sequence[PeriodMoney], currency: str, *,
                   narrow: bool = False, validate: bool = False) -> str:
    """Cumulative payable and earned by period, against the contract cap in force drawn
    as a step (it changes only when a variation changes it). ``narrow``: for a phone."""
    if not periods:
        return ""
    import altair as alt

    earned = _running_totals([p.earned for p in periods])
    highest = max([*earned, *(p.cumulative_payable for p in periods)])
    caps = [p.contract_cap for p in periods if p.contract_cap is not None]
    cap_far = bool(caps) and highest > 0 and max(caps) > highest * _CAP_FAR
    rows: list[dict[str, str]] = []
    for i, p in enumerate(periods):
        rows.append({"period": p.period, "series": "cumulative payable",
                     "value": _text(p.cumulative_payable)})
        rows.append({"period": p.period, "series": "cumulative earned",
                     "value": _text(earned[i])})
        if p.contract_cap is not None and not cap_far:
            rows.append({"period": p.period, "series": "contract cap",
                         "value": _text(p.contract_cap)})
    series = ["cumulative payable", "cumulative earned",
              *(["contract cap"] if caps and not cap_far else [])]
    data = alt.InlineData(values=rows, format=alt.JsonDataFormat(parse={"value": "number"}))
    x = alt.X("period:O", sort=[p.period for p in periods], title=None,
              axis=alt.Axis(labelAngle=-40, labelOverlap=True, labelFontSize=11))
    y = alt.Y("value:Q", title=f"{currency} (cumulative)",
              axis=alt.Axis(format=",.0f", tickCount=5))
    colour = alt.Color("series:N", title=None, sort=series, scale=alt.Scale(
        domain=series, range=[_PAYABLE, _EARNED, _CAP][:len(series)]))
    dash = alt.StrokeDash("series:N", title=None, sort=series, scale=alt.Scale(
        domain=series, range=[[1, 0], [6, 4], [3, 3]][:len(series)]))
    lines = alt.Chart(data).transform_filter(
        alt.datum.series != "contract cap").mark_line(strokeWidth=2.5, point=True).encode(
        x=x, y=y, color=colour, strokeDash=dash)
    cap = alt.Chart(data).transform_filter(alt.datum.series == "contract cap").mark_line(
        strokeWidth=2.5, interpolate="step-after").encode(
        x=x, y=y, color=colour, strokeDash=dash)
    subtitle = ("No contract cap" if not caps else
                f"Contract cap {max(caps):,} {currency}, far above what was earned: "
                "named here, not drawn" if cap_far else
                "The contract cap in force in each period, as a step")
    chart = alt.layer(lines, cap).properties(
        width=250 if narrow else 600, height=220 if narrow else 240,
        title=_title("Cumulative payable against the contract cap", subtitle, narrow))
    spec = chart.to_dict(validate=validate)
    spec["config"] = _config(narrow)
    return _inline(spec, ident, "Cumulative payable against the contract cap",
                   _payable_desc(periods, earned[-1], currency))


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
