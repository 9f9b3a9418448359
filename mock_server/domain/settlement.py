"""Settlement terms → payment schedule (`commitments`) and what is overdue on a given day."""

from __future__ import annotations

import calendar
import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def _add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


def due_date(issued: dt.date, condition: dict) -> dt.date:
    """When one condition of a settlement term falls due: "30 jours net", "45 jours fin de mois"..."""
    delay = int(condition.get("delay") or 0)
    if condition.get("delayType") == "Months":
        day = _add_months(issued, delay)
    else:
        day = issued + dt.timedelta(days=delay)
    if condition.get("type") == "EndMonth":
        day = day.replace(day=calendar.monthrange(day.year, day.month)[1])
        if condition.get("dayOfMonth"):
            # "fin de mois le 10": the given day of the following month.
            day = _add_months(day.replace(day=1), 1).replace(day=min(int(condition["dayOfMonth"]), 28))
    return day


def schedule(issued: dt.date, total: Decimal, term: dict | None) -> list[tuple[dt.date, Decimal]]:
    """(due date, amount) per condition of `term`; the rounding remainder goes to the last one."""
    conditions = (term or {}).get("conditions") or [{"type": "Net", "delay": 0, "delayType": "Days", "percent": 100}]
    parts, given = [], Decimal(0)
    for index, condition in enumerate(conditions):
        if index == len(conditions) - 1:
            amount = total - given
        else:
            amount = (total * Decimal(str(condition.get("percent") or 0)) / 100).quantize(CENT, ROUND_HALF_UP)
        given += amount
        parts.append((due_date(issued, condition), amount))
    return parts


def allocate(parts: list[tuple[dt.date, Decimal]], paid: Decimal) -> list[Decimal]:
    """What remains due on each part once `paid` has settled the earliest ones first."""
    remaining = []
    for _, amount in parts:
        settled = min(amount, max(paid, Decimal(0)))
        paid -= settled
        remaining.append(amount - settled)
    return remaining
