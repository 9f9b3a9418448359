"""Amounts of a sale document (invoice, credit, quote): lines, VAT summary and totals.

`compute(document)` returns a copy of the document with every amount filled in. Decimal
arithmetic throughout; amounts are rounded to the cent half-up (half away from zero, so a
credit mirrors its invoice: 0.125 → 0.13, -0.125 → -0.13). The conventions, which
docs/amounts.md explains with worked examples:

- Percentages are percentages: a VAT `rate` of 20 is 20 %, a `Percent` discount of 10 is 10 %.
- Price mode. `useTaxIncludedPrices` false: the tax-excluded (HT) price is authoritative; true:
  the tax-included (TTC) price is. A line giving only the other price has it converted at its
  VAT rate and rounded to the cent; the non-authoritative price is always derived that way and
  overwritten. Fixed discounts, the global discount and `shippingAmount` are in the same mode.
- Priced lines: type Product or Service, or no type and a price. Their amount in the document's
  mode is round(quantity × price − line discount); quantity null means 1. The line's other
  amount is derived at its own rate and rounded (for display; totals are computed per rate).
  Other lines (Text, Empty, NewPage, Subtotal) carry no price and null amounts, except a
  Subtotal: the sums of the priced lines' amounts since the previous Subtotal.
- Line discount: Percent in [0, 100] (else refused); Fixed ≥ 0 (else refused) and off the line
  total, clamped so that a line never changes sign (a Fixed discount larger than the line
  makes it 0).
- Negative quantities are allowed (returns, credits); negative prices, purchase prices, shipping
  and VAT rates are refused, and so is any number or amount of 1e12 or more in absolute value
  (a float could no longer hold its cents). Every refusal is an `InvalidRequest` (400).
- Global discount: one amount for the whole document, in the price mode — Percent:
  round(Σ line amounts × value / 100); Fixed: the value, clamped to the lines' total — spread
  over the VAT rates pro rata of their bases; each part is rounded to the cent and the
  rounding remainder goes to the largest base (the first, by rate descending, on a tie) so
  that the parts add up to the discount exactly. Shipping is not discounted.
- Per VAT rate (shipping counted in its own VAT's row):
  HT mode:  HT = Σ line HT − discount part + shipping;  VAT = round(HT × rate / 100).
  TTC mode: TTC = Σ line TTC − discount part + shipping;  HT = round(TTC / (1 + rate / 100));
            VAT = TTC − HT, so that the TTC the customer sees is exact.
  VAT is computed on each rate's total, never summed from per-line VAT.
- No VAT (`vatReverseCharge` true, or `liableToVat` false): every rate counts as 0, so both
  prices are equal, the entered price is the one charged, every VAT amount is 0 and
  tax-included = tax-excluded. The `vats` rows still name each line's VAT.
- Totals: taxExcludedAmount = Σ rows HT, taxAmount = Σ rows VAT, taxIncludedAmount = their sum;
  grossTaxExcludedAmount is the HT of the lines before the global discount and without shipping
  (HT mode: Σ line HT; TTC mode: Σ per rate of round(Σ line TTC / (1 + rate / 100)), so that it
  equals taxExcludedAmount when there is neither discount nor shipping).
- Margins (line level, before the global discount): marginAmount = line HT − quantity ×
  purchasePrice; marginRate = marginAmount / line HT × 100 (the "taux de marque"), 2 decimals,
  0 when the line HT is 0. Both are 0 without a purchasePrice (the contract makes them
  non-nullable), and on lines that carry no amount.
- Output numbers are floats rounded to the cent, except the authoritative price and the
  quantity, which keep every decimal given (they are the client's input).
"""

from __future__ import annotations

import decimal
from decimal import ROUND_HALF_UP, Decimal

from .copies import deep_copy
from .errors import InvalidRequest

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
PRICED_TYPES = ("Product", "Service")
# No price, quantity or amount reaches this; beyond ~1e13 a float cannot even hold the cents.
LIMIT = Decimal("1e12")


def compute(document: dict) -> dict:
    """A new document with every amount filled in (lines, vats summary, totals). The input is not
    mutated: the output has its own top level and lines (what is filled in), and shares the
    values it only reads (a line's `vat`, the addresses)."""
    doc = dict(document)
    if doc.get("lines"):
        doc["lines"] = [dict(line) for line in doc["lines"]]
    with decimal.localcontext() as ctx:
        ctx.prec = 50
        ctx.rounding = ROUND_HALF_UP
        return _compute(doc)


def _compute(doc: dict) -> dict:
    tax_included = bool(doc.get("useTaxIncludedPrices"))
    no_vat = bool(doc.get("vatReverseCharge")) or doc.get("liableToVat") is False
    rows: dict[tuple, dict] = {}  # VAT key → {"vat", "rate", "base"} in order of appearance
    since_subtotal = [Decimal(0), Decimal(0)]

    lines = doc.get("lines") or []
    for index, line in enumerate(lines):
        where = f"lines[{index}]"
        if _is_priced(line):
            vat = line.get("vat")
            rate = _rate(vat, no_vat, where)
            ht, ttc = _price_line(line, rate, tax_included, where)
            row = rows.setdefault(_vat_key(vat), {"vat": vat, "rate": rate, "base": Decimal(0)})
            row["base"] += ttc if tax_included else ht
            since_subtotal[0] += ht
            since_subtotal[1] += ttc
        else:
            line["taxExcludedPrice"] = line["taxIncludedPrice"] = None
            line["marginAmount"] = line["marginRate"] = 0
            if line.get("type") == "Subtotal":
                line["taxExcludedAmount"], line["taxIncludedAmount"] = (_out(a) for a in since_subtotal)
                since_subtotal = [Decimal(0), Decimal(0)]
            else:
                line["taxExcludedAmount"] = line["taxIncludedAmount"] = None

    gross_ht = sum(((_ht_of(r["base"], r["rate"]) if tax_included else r["base"]) for r in rows.values()), Decimal(0))

    by_rate = sorted(rows.values(), key=_rate_descending)
    for row, part in zip(by_rate, _global_discount(doc.get("globalDiscount"), [r["base"] for r in by_rate])):
        row["base"] -= part

    shipping = _cents(_dec(doc.get("shippingAmount") or 0, "shippingAmount"))
    if shipping < 0:
        raise InvalidRequest(f"shippingAmount ne doit pas être négatif, reçu {shipping}.")
    if shipping:
        vat = doc.get("shippingVat")
        rate = _rate(vat, no_vat, "shippingVat")
        rows.setdefault(_vat_key(vat), {"vat": vat, "rate": rate, "base": Decimal(0)})["base"] += shipping

    summary, total_ht, total_vat = [], Decimal(0), Decimal(0)
    for row in sorted(rows.values(), key=_rate_descending):
        base = row["base"]
        if tax_included:
            ht = _ht_of(base, row["rate"])
            vat_amount = base - ht
        else:
            ht = base
            vat_amount = _cents(base * row["rate"] / HUNDRED)
        total_ht += ht
        total_vat += vat_amount
        summary.append({"vat": deep_copy(row["vat"]), "taxExcludedAmount": _out(ht), "vatAmount": _out(vat_amount)})

    doc["shippingAmount"] = _out(shipping)
    doc["grossTaxExcludedAmount"] = _out(gross_ht)
    doc["taxExcludedAmount"] = _out(total_ht)
    doc["taxAmount"] = _out(total_vat)
    doc["taxIncludedAmount"] = _out(total_ht + total_vat)
    doc["vats"] = summary
    return doc


def _is_priced(line: dict) -> bool:
    if line.get("type") is None:
        return line.get("taxExcludedPrice") is not None or line.get("taxIncludedPrice") is not None
    return line["type"] in PRICED_TYPES


def _price_line(line: dict, rate: Decimal, tax_included: bool, where: str) -> tuple[Decimal, Decimal]:
    """Fill in a priced line's prices, amounts and margin; return its (HT, TTC) amounts."""
    mode_field, other_field = (("taxIncludedPrice", "taxExcludedPrice") if tax_included
                               else ("taxExcludedPrice", "taxIncludedPrice"))
    if line.get(mode_field) is not None:
        price = _dec(line[mode_field], f"{where}.{mode_field}")
        line[mode_field] = float(price)
    elif line.get(other_field) is not None:
        price = _convert(_dec(line[other_field], f"{where}.{other_field}"), rate, to_tax_included=tax_included)
        line[mode_field] = _out(price)
    else:
        price = Decimal(0)
        line[mode_field] = 0.0
    if price < 0:
        raise InvalidRequest(f"{where}.{mode_field} ne doit pas être négatif, reçu {price}.")
    line[other_field] = _out(_convert(price, rate, to_tax_included=not tax_included))

    quantity = _dec(line["quantity"], f"{where}.quantity") if line.get("quantity") is not None else Decimal(1)
    line["quantity"] = float(quantity)
    amount = _cents(_discounted(quantity * price, line.get("discount"), f"{where}.discount"))
    other = _convert(amount, rate, to_tax_included=not tax_included)
    ht, ttc = (other, amount) if tax_included else (amount, other)
    line["taxExcludedAmount"], line["taxIncludedAmount"] = _out(ht), _out(ttc)

    margin = margin_rate = Decimal(0)
    if line.get("purchasePrice") is not None:
        purchase = _dec(line["purchasePrice"], f"{where}.purchasePrice")
        if purchase < 0:
            raise InvalidRequest(f"{where}.purchasePrice ne doit pas être négatif, reçu {purchase}.")
        margin = _cents(ht - quantity * purchase)
        margin_rate = _cents(margin / ht * HUNDRED) if ht else Decimal(0)
    line["marginAmount"], line["marginRate"] = _out(margin), _out(margin_rate)
    return ht, ttc


def _discounted(total: Decimal, discount: dict | None, where: str) -> Decimal:
    """A line total less its discount (Percent of it, or Fixed off it, never changing its sign)."""
    kind, value = _discount(discount, where)
    if value is None:
        return total
    if kind == "Percent":
        return total * (HUNDRED - value) / HUNDRED
    if total >= 0:
        return max(total - value, Decimal(0))
    return min(total + value, Decimal(0))


def _discount(discount: dict | None, where: str) -> tuple[str, Decimal | None]:
    """(type, value) of a Discount, value None when there is none; a missing type means Percent."""
    if not discount or discount.get("value") is None:
        return "Percent", None
    kind = discount.get("type") or "Percent"
    value = _dec(discount["value"], f"{where}.value")
    if kind == "Percent":
        if not 0 <= value <= 100:
            raise InvalidRequest(f"{where} : une remise Percent doit être comprise entre 0 et 100, reçu {value}.")
    elif kind == "Fixed":
        if value < 0:
            raise InvalidRequest(f"{where} : une remise Fixed ne doit pas être négative, reçu {value}.")
    else:
        raise InvalidRequest(f"{where}.type doit être Percent ou Fixed, reçu {kind!r}.")
    return kind, value


def _global_discount(discount: dict | None, bases: list[Decimal]) -> list[Decimal]:
    """The global discount's part of each base (in the price mode); the parts add up to the cent.

    Percent: round(Σ bases × value / 100); Fixed: the value, clamped to Σ bases. Each part is the
    pro rata share rounded to the cent; the rounding remainder goes to the largest base.
    """
    kind, value = _discount(discount, "globalDiscount")
    total = sum(bases, Decimal(0))
    if value is None or not bases:
        return [Decimal(0)] * len(bases)
    if kind == "Percent":
        amount = _cents(total * value / HUNDRED)
        exact = [base * value / HUNDRED for base in bases]
    else:
        amount = min(_cents(value), abs(total)) * (1 if total >= 0 else -1)
        exact = [amount * base / total if total else Decimal(0) for base in bases]
    parts = [_cents(e) for e in exact]
    largest = max(range(len(bases)), key=lambda i: (abs(bases[i]), -i))
    parts[largest] += amount - sum(parts, Decimal(0))
    return parts


def _rate(vat: dict | None, no_vat: bool, where: str) -> Decimal:
    """The rate, in percent, that applies with `vat` (0 when the document bears no VAT)."""
    if not vat or vat.get("rate") is None:
        raise InvalidRequest(f"{where} : une TVA avec un taux est obligatoire.")
    rate = _dec(vat["rate"], f"{where}.rate")
    if rate < 0:
        raise InvalidRequest(f"{where}.rate ne doit pas être négatif, reçu {rate}.")
    return Decimal(0) if no_vat else rate


def _rate_descending(row: dict) -> Decimal:
    return -_dec(row["vat"].get("rate") or 0, "vat.rate")


def _vat_key(vat: dict) -> tuple:
    if vat.get("id") is not None:
        return ("id", vat["id"])
    return ("rate", _dec(vat["rate"], "vat.rate").normalize(), vat.get("region"))


def _convert(value: Decimal, rate: Decimal, *, to_tax_included: bool) -> Decimal:
    """A price or amount moved to the other price mode at `rate`, rounded to the cent."""
    factor = 1 + rate / HUNDRED
    return _cents(value * factor if to_tax_included else value / factor)


def _ht_of(ttc: Decimal, rate: Decimal) -> Decimal:
    return _convert(ttc, rate, to_tax_included=False)


def _dec(value, where: str) -> Decimal:
    """A JSON number as the Decimal a person reads (2.675 is 2.675, not its binary neighbour)."""
    kind = value.__class__
    if kind is int:  # JSON's usual cases first (a bool's class is bool)
        number = Decimal(value)
    elif kind is float:
        number = Decimal(repr(value))
    elif isinstance(value, bool):
        raise InvalidRequest(f"{where} doit être un nombre, reçu {value!r}.")
    else:
        try:
            number = value if isinstance(value, Decimal) else Decimal(repr(value) if isinstance(value, float) else str(value))
        except decimal.InvalidOperation:
            raise InvalidRequest(f"{where} doit être un nombre, reçu {value!r}.") from None
    if not number.is_finite() or abs(number) >= LIMIT:
        raise InvalidRequest(f"{where} doit être un nombre fini inférieur à {LIMIT:,.0f} en valeur absolue, reçu {value!r}.")
    return number


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, ROUND_HALF_UP)  # rounding given by position: half the cost of by name


def _out(value: Decimal) -> float:
    """A Decimal as the JSON float of its value to the cent (never -0.0)."""
    if abs(value) >= LIMIT:
        raise InvalidRequest(f"Les montants du document doivent rester inférieurs à {LIMIT:,.0f} en valeur absolue.")
    return float(_cents(value)) + 0.0
