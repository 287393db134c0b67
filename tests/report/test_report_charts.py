"""The report's charts: percent of target over the rating bands, payable against a cap
drawn as a step, every chart described in words, rendered offline to inline SVG."""

from __future__ import annotations

import re
import time
from decimal import Decimal
from itertools import pairwise

from outcomeledger.domain.ratings import Rating
from outcomeledger.report.charts import actual_vs_target, payable_vs_cap
from outcomeledger.report.model import PeriodMoney, RatingScale

D = Decimal
SCALE = RatingScale(good=D("1.00"), approaching=D("0.90"), requires_improvement=D("0.75"),
                    source="default")
CAP_COLOUR = "#a3001b"


def period(name: str, earned: str, cumulative: str, cap: str | None) -> PeriodMoney:
    z = D(0)
    return PeriodMoney(period=name, earned=D(earned), above_cap=z, adjustments=z, fees=z,
                       retained=z, payable=D(earned), cumulative_payable=D(cumulative),
                       certified=z, true_up=z, contract_cap=None if cap is None else D(cap),
                       retention_held=z, retention_released=z)


def texts(svg: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", t) for t in re.findall(r"<text\b[^>]*>.*?</text>", svg,
                                                          flags=re.S)]


def test_outcomes_are_charted_as_a_percentage_of_their_own_target_over_the_rating_bands(
) -> None:
    svg = actual_vs_target("t", [("EMP1", D(105), D(160), "inadequate"),
                                 ("WB1", D(3000), D(2500), "good")], SCALE)
    labels = texts(svg)
    # Unrelated outcomes share one axis only as percentages: 66% and 120%, not 105 and 3000.
    assert "105 of 160: 66%, inadequate" in labels
    assert "3,000 of 2,500: 120%, good" in labels
    assert "% of target (cumulative)" in labels
    assert {"75", "90", "100"} <= set(labels)  # the bands' edges are ticks
    for tint in ("#f9d3d3", "#ffe0c4", "#fff1c2", "#dcf1e1"):  # the four rating bands
        assert f'fill="{tint}"' in svg
    assert {"inadequate", "requires improvement", "approaching target", "good"} <= set(labels)


def test_an_outcome_far_above_target_is_cut_at_twice_the_target_and_says_its_figure() -> None:
    svg = actual_vs_target("t", [("A", D(900), D(100), "good"), ("B", D(50), D(100),
                                                                 "inadequate")], SCALE)
    labels = texts(svg)
    assert "900 of 100: 900%, good" in labels
    assert "200" in labels  # the axis stops at 200%
    assert "900" not in labels


def test_outcomes_without_a_target_have_nothing_to_chart() -> None:
    assert actual_vs_target("t", [("A", D(5), D(0), "other")], SCALE) == ""
    assert actual_vs_target("t", [], SCALE) == ""


def _cap_path(svg: str) -> str:
    paths = re.findall(rf'<path d="([^"]+)" stroke="{CAP_COLOUR}"', svg)
    assert len(paths) == 1, paths
    return str(paths[0])


def test_the_contract_cap_is_drawn_as_a_step_where_a_variation_raises_it() -> None:
    svg = payable_vs_cap("p", [period("Q1", "100000", "100000", "450000"),
                               period("Q2", "200000", "300000", "450000"),
                               period("Q3", "150000", "450000", "480000"),
                               period("Q4", "10000", "460000", "480000")], "GBP")
    points = [tuple(map(float, p.split(",")))
              for p in re.findall(r"-?[\d.]+,-?[\d.]+", _cap_path(svg))]
    # A step: every segment is horizontal or vertical, and the cap rises once.
    assert all(a[0] == b[0] or a[1] == b[1] for a, b in pairwise(points))
    assert len({y for _x, y in points}) == 2
    assert "contract cap" in texts(svg)


def test_a_cap_far_above_the_amounts_is_named_not_drawn() -> None:
    svg = payable_vs_cap("p", [period("Q1", "10000", "10000", "900000"),
                               period("Q2", "20000", "30000", "900000")], "GBP")
    assert CAP_COLOUR not in svg
    assert ("Contract cap 900,000 GBP, far above what was earned: named here, not drawn"
            in texts(svg))
    labels = texts(svg)
    assert "30,000" in labels  # the scale fits the amounts
    assert "900,000" not in labels


def test_every_chart_is_an_image_with_a_title_and_a_description_and_no_script() -> None:
    svg = payable_vs_cap("chart-p", [period("Q1", "5", "5", None)], "EUR")
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ')
    assert 'role="img" aria-labelledby="chart-p-title chart-p-desc"' in svg
    assert '<title id="chart-p-title">Cumulative payable against the contract cap</title>' in svg
    assert "Cumulative payable reaches 5 EUR against no contract cap" in svg
    assert "<script" not in svg
    assert "No contract cap" in texts(svg)


def test_the_converter_is_started_once_per_process_and_a_chart_then_renders_quickly() -> None:
    payable_vs_cap("warm", [period("Q1", "1", "1", None)], "GBP")
    started = time.perf_counter()
    for n in range(5):
        payable_vs_cap(f"p{n}", [period("Q1", str(n + 2), str(n + 2), "100")], "GBP")
    assert (time.perf_counter() - started) / 5 < 0.5


def _width(svg: str) -> float:
    found = re.match(r'<svg [^>]*viewBox="0 0 ([\d.]+) ', svg)
    assert found is not None
    return float(found[1])


def test_on_a_phone_each_bar_has_its_outcome_and_figures_above_it_and_fits_390_px() -> None:
    items: list[tuple[str, Decimal, Decimal, Rating]] = [
        ("EMP1", D(105), D(160), "inadequate"),
        ("SV-LW (social value)", D(22), D(60), "inadequate")]
    narrow = actual_vs_target("n", items, SCALE, narrow=True)
    assert "EMP1: 105 of 160: 66%, inadequate" in texts(narrow)
    assert _width(narrow) <= 390 - 2 * 24  # the page's padding either side
    assert _width(actual_vs_target("w", items, SCALE)) > 600
    periods = [period(f"FY2020-Q{n}", "100", str(100 * n), "450") for n in (1, 2, 3, 4)]
    assert _width(payable_vs_cap("n", periods, "GBP", narrow=True)) <= 390 - 2 * 24


def test_the_specifications_are_valid_vega_lite() -> None:
    """Reports skip altair's schema check for speed; the tests make it, for both
    charts in both sizes."""
    items: list[tuple[str, Decimal, Decimal, Rating]] = [("A", D(5), D(10), "inadequate")]
    periods = [period("Q1", "5", "5", "100"), period("Q2", "5", "10", "120")]
    for narrow in (False, True):
        assert actual_vs_target("t", items, SCALE, narrow=narrow, validate=True)
        assert payable_vs_cap("p", periods, "GBP", narrow=narrow, validate=True)
