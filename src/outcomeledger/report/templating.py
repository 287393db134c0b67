"""The HTML pages' templates (``report/templates/``, Jinja2) and the one environment that
renders them, autoescaping every value: text reaches a page escaped unless a template
marks it otherwise, never by a forgotten ``escape()``."""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from .currency import money


def amount(value: Decimal | None) -> str:
    """An amount or count with thousands separators; a dash for none."""
    return "—" if value is None else f"{value:,}"


def percent(share: Decimal | None) -> str:
    """A share (0-1) as a percentage to two places; a dash for none."""
    return "—" if share is None else f"{share * 100:.2f}%"


def whole_percent(share: Decimal) -> str:
    """A share (0-1) as a whole percentage: a rating threshold."""
    return f"{share * 100:.0f}%"


@cache
def environment() -> Environment:
    """The templates' environment, built once per process."""
    env = Environment(loader=PackageLoader("outcomeledger.report", "templates"),
                      autoescape=True, undefined=StrictUndefined, trim_blocks=True,
                      lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update(amount=amount, money=money, percent=percent,
                       whole_percent=whole_percent)
    return env


def render(template: str, **context: Any) -> str:
    """The page ``template`` with ``context``."""
    return environment().get_template(template).render(**context)
