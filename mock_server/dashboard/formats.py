"""French formats of the dashboard's data, as fr-FR writes them (the Jinja filters of its templates).

Amounts as `Intl.NumberFormat("fr-FR", {style: "currency", currency: "EUR"})` prints them:
`1 809,69 €`, groups split by a narrow no-break space (U+202F), the euro sign after a no-break
space (U+00A0). Dates `01/12/2026`; instants in the seller's time zone (Europe/Paris by default).
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from zoneinfo import ZoneInfo

NARROW_NBSP = "\u202f"
NBSP = "\u00a0"
PARIS = ZoneInfo("Europe/Paris")


def number(value, decimals: int = 2) -> str:
    """`1809.69` → `1 809,69` (half-up to `decimals` places); "" for no value."""
    if value is None or value == "":
        return ""
    try:
        amount = Decimal(str(value)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError):
        return str(value)
    text = f"{abs(amount):,.{decimals}f}".replace(",", NARROW_NBSP).replace(".", ",")
    return f"-{text}" if amount < 0 else text


def money(value) -> str:
    """`1809.69` → `1 809,69 €`."""
    text = number(value)
    return f"{text}{NBSP}€" if text else ""


def quantity(value) -> str:
    """A quantity without useless decimals: `3.0` → `3`, `2.5` → `2,5`."""
    if value is None:
        return ""
    try:
        exact = Decimal(str(value)).normalize()
    except (InvalidOperation, ValueError):
        return str(value)
    decimals = max(0, -exact.as_tuple().exponent)
    return number(exact, decimals)


def percent(value) -> str:
    """`20.0` → `20 %`, `5.5` → `5,5 %` (fr-FR puts a narrow no-break space before the sign)."""
    text = quantity(value)
    return f"{text}{NARROW_NBSP}%" if text else ""


def _instant(value) -> dt.datetime | None:
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def date(value) -> str:
    """`2026-12-01` (or an instant) → `01/12/2026`; anything unreadable as it is."""
    if not value:
        return ""
    text = str(value)
    if len(text) == 10:
        try:
            return dt.date.fromisoformat(text).strftime("%d/%m/%Y")
        except ValueError:
            return text
    moment = _instant(text)
    return moment.astimezone(PARIS).strftime("%d/%m/%Y") if moment else text


def datetime(value, seconds: bool = False) -> str:
    """An instant (ISO 8601, UTC) → `01/12/2026 21:05` in Paris time."""
    moment = _instant(value)
    if moment is None:
        return str(value or "")
    return moment.astimezone(PARIS).strftime("%d/%m/%Y %H:%M:%S" if seconds else "%d/%m/%Y %H:%M")


FILTERS = {"number": number, "money": money, "quantity": quantity, "percent": percent, "date": date,
           "datetime": datetime}
