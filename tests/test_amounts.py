"""Amounts of sale documents: every expectation below is worked out by hand in its comment."""

from __future__ import annotations

import copy
import random
from decimal import ROUND_HALF_UP, Decimal

import pytest

from mock_server.domain.amounts import compute
from mock_server.domain.errors import InvalidRequest

V20 = {"id": 1, "rate": 20, "region": "FR", "label": "20 %", "default": True}
V10 = {"id": 2, "rate": 10, "region": "FR", "label": "10 %", "default": False}
V55 = {"id": 3, "rate": 5.5, "region": "FR", "label": "5,5 %", "default": False}
V21 = {"id": 4, "rate": 2.1, "region": "FR", "label": "2,1 %", "default": False}
V0 = {"id": 9, "rate": 0, "region": "FR", "label": "0 %", "default": False}


def line(quantity, price, vat, *, ttc=False, type_="Product", **extra) -> dict:
    return {"type": type_, "quantity": quantity, ("taxIncludedPrice" if ttc else "taxExcludedPrice"): price,
            "vat": vat, **extra}


def doc(*lines, **fields) -> dict:
    return {"lines": list(lines), "shippingVat": V20, **fields}


def totals(d: dict) -> tuple:
    return d["grossTaxExcludedAmount"], d["taxExcludedAmount"], d["taxAmount"], d["taxIncludedAmount"]


def rows(d: dict) -> list[tuple]:
    return [(r["vat"]["rate"], r["taxExcludedAmount"], r["vatAmount"]) for r in d["vats"]]


# --- tax-excluded (HT) mode ------------------------------------------------------------------------

def test_mixed_rates_in_tax_excluded_mode():
    # 3 × 19.99 = 59.97 at 20 %;  2 × 7.45 = 14.90 at 10 %;  1 × 12.50 = 12.50 at 5.5 %
    # VAT per rate: 59.97 × 0.20 = 11.994 → 11.99;  14.90 × 0.10 = 1.49;  12.50 × 0.055 = 0.6875 → 0.69
    # HT 59.97 + 14.90 + 12.50 = 87.37;  VAT 11.99 + 1.49 + 0.69 = 14.17;  TTC 87.37 + 14.17 = 101.54
    out = compute(doc(line(3, 19.99, V20), line(2, 7.45, V10), line(1, 12.50, V55, type_="Service")))
    assert totals(out) == (87.37, 87.37, 14.17, 101.54)
    assert rows(out) == [(20, 59.97, 11.99), (10, 14.90, 1.49), (5.5, 12.50, 0.69)]
    first, second, third = out["lines"]
    # derived TTC prices: 19.99 × 1.2 = 23.988 → 23.99;  7.45 × 1.1 = 8.195 → 8.20 (half up);  12.50 × 1.055 = 13.1875 → 13.19
    assert (first["taxIncludedPrice"], second["taxIncludedPrice"], third["taxIncludedPrice"]) == (23.99, 8.20, 13.19)
    # line TTC (display): 59.97 × 1.2 = 71.964 → 71.96;  14.90 × 1.1 = 16.39;  12.50 × 1.055 = 13.1875 → 13.19
    assert [(ln["taxExcludedAmount"], ln["taxIncludedAmount"]) for ln in out["lines"]] == [
        (59.97, 71.96), (14.90, 16.39), (12.50, 13.19)]


def test_vat_is_computed_on_each_rate_total_not_summed_per_line():
    # Three lines of 1 × 0.05 at 20 %: per line 0.01 VAT each would give 0.03;
    # on the rate total: 0.15 × 0.20 = 0.03. With 0.07: per line 0.014 → 0.01 × 3 = 0.03, on the total 0.21 × 0.2 = 0.042 → 0.04.
    out = compute(doc(*[line(1, 0.07, V20) for _ in range(3)]))
    assert rows(out) == [(20, 0.21, 0.04)]
    assert totals(out) == (0.21, 0.21, 0.04, 0.25)


def test_line_percent_and_fixed_discounts():
    # 4 × 25.00 = 100.00, −15 %  → 85.00
    # 1 × 99.90, −9.90 fixed     → 90.00
    # 2 × 10.00 = 20.00, −50 fixed → clamped to 0.00 (a discount never makes a line negative)
    # 3 × 3.33 = 9.99, −33.3 %  → 9.99 × 0.667 = 6.66333 → 6.66
    # 20 % base: 85 + 90 + 0 + 6.66 = 181.66;  VAT 36.332 → 36.33;  TTC 217.99
    out = compute(doc(
        line(4, 25.00, V20, discount={"type": "Percent", "value": 15}),
        line(1, 99.90, V20, discount={"type": "Fixed", "value": 9.90}),
        line(2, 10.00, V20, discount={"type": "Fixed", "value": 50}),
        line(3, 3.33, V20, discount={"type": "Percent", "value": 33.3}),
    ))
    assert [ln["taxExcludedAmount"] for ln in out["lines"]] == [85.00, 90.00, 0.00, 6.66]
    assert totals(out) == (181.66, 181.66, 36.33, 217.99)


def test_a_discount_without_a_type_is_a_percentage_and_an_empty_one_is_none():
    # 2 × 50.00 = 100.00 less 10 % → 90.00;  {"type": "Fixed"} without a value is no discount → 100.00
    out = compute(doc(line(2, 50, V20, discount={"value": 10}), line(2, 50, V20, discount={"type": "Fixed"})))
    assert [ln["taxExcludedAmount"] for ln in out["lines"]] == [90.00, 100.00]


def test_global_percent_discount_parts_add_up_to_the_rounded_total():
    # Bases 100.05 (20 %), 50.05 (10 %), 0.05 (5.5 %): gross 150.15; 10 % of it = 15.015 → 15.02.
    # Per rate: 10.005 → 10.01, 5.005 → 5.01, 0.005 → 0.01: 15.03, one cent too many;
    # the remainder (−0.01) goes to the largest base (20 %): 10.00.
    # Bases after: 90.05, 45.04, 0.04 → VAT 18.01, 4.504 → 4.50, 0.0022 → 0.00
    # HT 135.13 (= 150.15 − 15.02);  VAT 22.51;  TTC 157.64
    out = compute(doc(line(1, 100.05, V20), line(1, 50.05, V10), line(1, 0.05, V55),
                      globalDiscount={"type": "Percent", "value": 10}))
    assert rows(out) == [(20, 90.05, 18.01), (10, 45.04, 4.50), (5.5, 0.04, 0.00)]
    assert totals(out) == (150.15, 135.13, 22.51, 157.64)
    # line amounts stay before the global discount
    assert [ln["taxExcludedAmount"] for ln in out["lines"]] == [100.05, 50.05, 0.05]


def test_global_fixed_discount_is_spread_pro_rata_with_the_remainder_on_the_largest_base():
    # Bases 33.33 (20 %), 33.33 (10 %), 33.34 (5.5 %), gross 100.00; fixed 1.00 off.
    # Shares 0.3333, 0.3333, 0.3334 → 0.33 each = 0.99; the missing cent goes to the largest base,
    # 33.34 at 5.5 % → 0.34.  Bases after: 33.00 each.
    # VAT: 6.60;  3.30;  33 × 0.055 = 1.815 → 1.82.  HT 99.00, VAT 11.72, TTC 110.72
    out = compute(doc(line(1, 33.33, V20), line(1, 33.33, V10), line(1, 33.34, V55),
                      globalDiscount={"type": "Fixed", "value": 1}))
    assert rows(out) == [(20, 33.00, 6.60), (10, 33.00, 3.30), (5.5, 33.00, 1.82)]
    assert totals(out) == (100.00, 99.00, 11.72, 110.72)


def test_global_fixed_discount_is_clamped_to_the_lines_total():
    # 1 × 30.00 at 20 %, fixed 50 off → 0.00; shipping 5.00 (20 %) is not discounted: HT 5.00, VAT 1.00
    out = compute(doc(line(1, 30, V20), globalDiscount={"type": "Fixed", "value": 50}, shippingAmount=5))
    assert totals(out) == (30.00, 5.00, 1.00, 6.00)


# --- shipping ------------------------------------------------------------------------------------

def test_shipping_has_its_own_vat_row():
    # 1 × 100.00 at 5.5 % (books) → VAT 5.50;  shipping 9.90 at 20 % → VAT 1.98
    # gross 100.00 (no shipping);  HT 109.90;  VAT 7.48;  TTC 117.38; rows by rate descending
    out = compute(doc(line(1, 100, V55), shippingAmount=9.90, shippingVat=V20))
    assert rows(out) == [(20, 9.90, 1.98), (5.5, 100.00, 5.50)]
    assert totals(out) == (100.00, 109.90, 7.48, 117.38)


def test_shipping_joins_the_row_of_its_vat_and_escapes_the_global_discount():
    # 1 × 100.00 at 20 %, −10 % global → 90.00;  + shipping 10.00 at 20 % → 100.00;  VAT 20.00
    out = compute(doc(line(1, 100, V20), shippingAmount=10, globalDiscount={"type": "Percent", "value": 10}))
    assert rows(out) == [(20, 100.00, 20.00)]
    assert totals(out) == (100.00, 100.00, 20.00, 120.00)


def test_shipping_alone():
    # No line; shipping 4.99 at 20 %: VAT 0.998 → 1.00; TTC 5.99
    out = compute(doc(shippingAmount=4.99))
    assert rows(out) == [(20, 4.99, 1.00)]
    assert totals(out) == (0.00, 4.99, 1.00, 5.99)


# --- tax-included (TTC) mode ----------------------------------------------------------------------

def test_tax_included_mode_simple():
    # 2 × 24.00 TTC at 20 % = 48.00 TTC;  HT 48 / 1.2 = 40.00;  VAT 8.00;  HT price 24 / 1.2 = 20.00
    out = compute(doc(line(2, 24.00, V20, ttc=True), useTaxIncludedPrices=True))
    assert totals(out) == (40.00, 40.00, 8.00, 48.00)
    assert rows(out) == [(20, 40.00, 8.00)]
    only = out["lines"][0]
    assert (only["taxExcludedPrice"], only["taxIncludedPrice"]) == (20.00, 24.00)
    assert (only["taxExcludedAmount"], only["taxIncludedAmount"]) == (40.00, 48.00)


def test_tax_included_mode_keeps_the_customers_total_exact():
    # 3 × 9.99 TTC at 5.5 % = 29.97 TTC.  HT = 29.97 / 1.055: 1.055 × 28.4 = 29.962, the remaining 0.008 / 1.055
    # = 0.0076 → 28.4076 → 28.41;  VAT = 29.97 − 28.41 = 1.56 (not 28.41 × 0.055 = 1.5626, which would add to 29.98).
    # HT price: 1.055 × 9.465 = 9.985575, (9.99 − 9.985575) / 1.055 = 0.0042 → 9.4692 → 9.47
    out = compute(doc(line(3, 9.99, V55, ttc=True), useTaxIncludedPrices=True))
    assert totals(out) == (28.41, 28.41, 1.56, 29.97)
    assert out["lines"][0]["taxExcludedPrice"] == 9.47


def test_tax_included_mode_with_a_fixed_global_discount_and_two_rates():
    # TTC bases 48.00 (20 %) and 29.97 (5.5 %), total 77.97; 7.97 off, so the customer pays 70.00.
    # Shares: 7.97 × 48 / 77.97 = 382.56 / 77.97 = 4.9065 → 4.91;  7.97 × 29.97 / 77.97 = 3.0635 → 3.06; 4.91 + 3.06 = 7.97.
    # TTC after: 43.09 and 26.91.  HT: 43.09 / 1.2 = 35.9083 → 35.91, VAT 7.18;
    # 26.91 / 1.055: 1.055 × 25.5 = 26.9025, 0.0075 / 1.055 = 0.0071 → 25.5071 → 25.51, VAT 1.40.
    # HT 61.42 + VAT 8.58 = 70.00.  Gross HT (before discount) per rate: 40.00 + 28.41 = 68.41
    out = compute(doc(line(2, 24.00, V20, ttc=True), line(3, 9.99, V55, ttc=True), useTaxIncludedPrices=True,
                      globalDiscount={"type": "Fixed", "value": 7.97}))
    assert rows(out) == [(20, 35.91, 7.18), (5.5, 25.51, 1.40)]
    assert totals(out) == (68.41, 61.42, 8.58, 70.00)


def test_the_price_of_the_documents_mode_wins_and_the_other_is_converted():
    # HT document, a line with only a TTC price 24.00 at 20 % (a product priced TTC): HT price 20.00, 2 × 20 = 40.00.
    # A line with both prices: the HT one (10.00) wins, the TTC one is recomputed: 12.00, not 99.
    out = compute(doc(line(2, 24.00, V20, ttc=True),
                      line(1, 10.00, V20, taxIncludedPrice=99)))
    assert [(ln["taxExcludedPrice"], ln["taxIncludedPrice"]) for ln in out["lines"]] == [(20.00, 24.00), (10.00, 12.00)]
    assert totals(out) == (50.00, 50.00, 10.00, 60.00)
    # TTC document, a line with only an HT price 19.99 at 5.5 %: TTC price 21.08945 → 21.09;  1 × 21.09 TTC
    # → HT 21.09 / 1.055 = 19.9905 → 19.99, VAT 1.10
    out = compute(doc(line(1, 19.99, V55), useTaxIncludedPrices=True))
    assert out["lines"][0]["taxIncludedPrice"] == 21.09
    assert totals(out) == (19.99, 19.99, 1.10, 21.09)


# --- no VAT ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("fields", [{"vatReverseCharge": True}, {"liableToVat": False}])
def test_reverse_charge_and_not_liable_to_vat_bear_no_vat(fields):
    # 3 × 19.99 = 59.97 + shipping 10.00, both "at 20 %" but no VAT: HT = TTC = 69.97; the row still names the 20 % VAT
    out = compute(doc(line(3, 19.99, V20), shippingAmount=10, **fields))
    assert totals(out) == (59.97, 69.97, 0.00, 69.97)
    assert rows(out) == [(20, 69.97, 0.00)]
    only = out["lines"][0]
    assert (only["taxIncludedPrice"], only["taxIncludedAmount"]) == (19.99, 59.97)


def test_reverse_charge_in_tax_included_mode_charges_the_entered_price():
    # 2 × 24.00 "TTC", no VAT: 48.00 charged, HT = TTC = 48.00
    out = compute(doc(line(2, 24.00, V20, ttc=True), useTaxIncludedPrices=True, vatReverseCharge=True))
    assert totals(out) == (48.00, 48.00, 0.00, 48.00)


# --- lines that carry no amount ---------------------------------------------------------------------

def test_text_empty_newpage_and_subtotal_lines():
    # Intro text (its stray price ignored);  2 × 10.00 at 20 % = 20.00 (TTC 24.00);  1 × 5.50 at 10 % = 5.50 (TTC 6.05)
    # Subtotal: 25.50 / 30.05;  empty;  1 × 1.00 at 20 % (TTC 1.20);  Subtotal since the previous one: 1.00 / 1.20
    # A typeless line with a price is priced (3.00 at 20 %); one without a price is text.
    lines = [
        {"type": "Text", "description": "Intro", "taxExcludedPrice": 50},
        line(2, 10, V20), line(1, 5.50, V10, type_="Service"),
        {"type": "Subtotal"}, {"type": "Empty"},
        line(1, 1, V20), {"type": "Subtotal"}, {"type": "NewPage"},
        {"quantity": 1, "taxExcludedPrice": 3, "vat": V20}, {"description": "typeless, no price"},
    ]
    out = compute(doc(*lines))
    amounts = [(ln.get("taxExcludedAmount"), ln.get("taxIncludedAmount")) for ln in out["lines"]]
    assert amounts == [(None, None), (20.00, 24.00), (5.50, 6.05), (25.50, 30.05), (None, None),
                       (1.00, 1.20), (1.00, 1.20), (None, None), (3.00, 3.60), (None, None)]
    assert out["lines"][0]["taxExcludedPrice"] is None
    assert (out["lines"][0]["marginAmount"], out["lines"][0]["marginRate"]) == (0, 0)
    # HT 20 + 5.50 + 1 + 3 = 29.50;  VAT 20 %: 24 × 0.2 = 4.80;  10 %: 0.55;  TTC 29.50 + 5.35 = 34.85
    assert totals(out) == (29.50, 29.50, 5.35, 34.85)


def test_empty_document():
    out = compute({"lines": None})
    assert totals(out) == (0, 0, 0, 0)
    assert out["vats"] == []


# --- rounding edges ---------------------------------------------------------------------------------

@pytest.mark.parametrize("quantity, price, expected", [
    (1, 0.125, 0.13),     # Python's round(0.125, 2) gives 0.12 (half to even)
    (0.5, 0.25, 0.13),    # 0.125 again, from a product
    (1, 2.675, 2.68),     # the float 2.675 is 2.67499999…, round() gives 2.67
    (1, 1.005, 1.01),     # the float 1.005 is 1.00499999…, round() gives 1.0
    (-1, 0.125, -0.13),   # half away from zero: a credit mirrors its invoice
    (3, 0.335, 1.01),     # 3 × 0.335 = 1.005 → 1.01
    (1.5, 1.23, 1.85),    # 1.845 → 1.85; round(1.5 * 1.23, 2) gives 1.84
])
def test_half_up_rounding_of_line_amounts(quantity, price, expected):
    out = compute(doc(line(quantity, price, V0)))
    assert out["lines"][0]["taxExcludedAmount"] == expected
    assert out["taxIncludedAmount"] == expected


def test_half_up_rounding_of_vat():
    # 1.00 at 5.5 % → 0.055 → 0.06;  1.05 at 10 % → 0.105 → 0.11;  0.25 at 2.1 % → 0.00525 → 0.01;
    # 12.25 at 20 % → 2.45 exactly
    out = compute(doc(line(1, 1.00, V55), line(1, 1.05, V10), line(1, 0.25, V21), line(1, 12.25, V20)))
    assert rows(out) == [(20, 12.25, 2.45), (10, 1.05, 0.11), (5.5, 1.00, 0.06), (2.1, 0.25, 0.01)]
    # HT 14.55, VAT 2.63, TTC 17.18
    assert totals(out) == (14.55, 14.55, 2.63, 17.18)


def test_prices_with_more_decimals_are_honoured():
    # 1000 × 0.0125 = 12.50 exactly (the price is kept, not rounded to 0.01 first, which would give 10.00)
    out = compute(doc(line(1000, 0.0125, V20)))
    assert out["lines"][0]["taxExcludedPrice"] == 0.0125
    assert totals(out) == (12.50, 12.50, 2.50, 15.00)


# --- margins ----------------------------------------------------------------------------------------

def test_margins():
    # 3 × 19.99 = 59.97, bought 12.00: margin 59.97 − 36.00 = 23.97; rate 23.97 / 59.97:
    #   59.97 × 0.40 = 23.988, short by 0.018, 0.018 / 59.97 = 0.03 % → 39.97 %
    # 2 × 10.00 with 50 fixed off = 0.00, bought 5.00: margin −10.00, rate 0 (no turnover)
    # no purchase price: 0 / 0
    out = compute(doc(line(3, 19.99, V20, purchasePrice=12),
                      line(2, 10, V20, purchasePrice=5, discount={"type": "Fixed", "value": 50}),
                      line(1, 10, V20)))
    assert [(ln["marginAmount"], ln["marginRate"]) for ln in out["lines"]] == [(23.97, 39.97), (-10.00, 0), (0, 0)]


def test_margin_in_tax_included_mode_is_on_the_tax_excluded_amount():
    # 2 × 24.00 TTC at 20 % → HT 40.00; bought 15.00 HT: margin 40 − 30 = 10.00; rate 10 / 40 = 25.00 %
    out = compute(doc(line(2, 24, V20, ttc=True, purchasePrice=15), useTaxIncludedPrices=True))
    assert (out["lines"][0]["marginAmount"], out["lines"][0]["marginRate"]) == (10.00, 25.00)


# --- credits and refusals -----------------------------------------------------------------------------

def test_negative_quantities_are_allowed():
    # −2 × 10.00 = −20.00, 5.00 fixed off → −15.00 (towards zero);  VAT −3.00;  TTC −18.00
    out = compute(doc(line(-2, 10, V20, discount={"type": "Fixed", "value": 5})))
    assert totals(out) == (-15.00, -15.00, -3.00, -18.00)


@pytest.mark.parametrize("document", [
    doc(line(1, 10, V20, discount={"type": "Percent", "value": 101})),
    doc(line(1, 10, V20, discount={"type": "Percent", "value": -1})),
    doc(line(1, 10, V20, discount={"type": "Fixed", "value": -5})),
    doc(line(1, 10, V20, discount={"type": "Other", "value": 5})),
    doc(line(1, 10, V20), globalDiscount={"type": "Percent", "value": 100.01}),
    doc(line(1, 10, V20), globalDiscount={"type": "Fixed", "value": -0.01}),
    doc(line(1, -10, V20)),
    doc(line(1, -10, V20, ttc=True), useTaxIncludedPrices=True),
    doc(line(1, 10, V20, purchasePrice=-1)),
    doc(line(1, 10, V20), shippingAmount=-1),
    doc(line(1, 10, None)),
    doc(line(1, 10, {"id": 7, "rate": None})),
    doc(line(1, 10, {"id": 7, "rate": -5})),
    doc(line(1, float("nan"), V20)),
    doc(line(1, 1e300, V20)),
    doc(line(1e6, 1e6, V20)),  # 1e12: more than an invoice can hold to the cent
])
def test_impossible_input_is_refused(document):
    with pytest.raises(InvalidRequest):
        compute(document)


def test_input_is_not_mutated_and_a_new_document_is_returned():
    """What compute fills in (the top level, the lines, the vats summary) is the output's own; the
    values it only reads are shared with the input (the caller stores a copy of the output)."""
    given = doc(line(3, 19.99, V20, discount={"type": "Percent", "value": 5}), {"type": "Subtotal"},
                globalDiscount={"type": "Fixed", "value": 3}, shippingAmount=4.5, _payments=[{"amount": 1}])
    before = copy.deepcopy(given)
    out = compute(given)
    assert given == before
    assert out is not given and out["_payments"] == [{"amount": 1}]
    assert all(o is not g for o, g in zip(out["lines"], given["lines"]))
    out["lines"][0]["quantity"] = 7
    out["vats"][0]["vat"]["label"] = "changed"
    assert given["lines"][0]["quantity"] == 3 and given["lines"][0]["vat"]["label"] == "20 %"


# --- invariants over many generated documents ------------------------------------------------------------

def _money(value) -> Decimal:
    return Decimal(repr(value))


def _random_document(rnd: random.Random) -> dict:
    tax_included = rnd.random() < 0.4
    credit = rnd.random() < 0.15
    lines = []
    for _ in range(rnd.randint(0, 8)):
        kind = rnd.choice(["Product", "Product", "Service", None, "Text", "Subtotal"])
        if kind in ("Text", "Subtotal"):
            lines.append({"type": kind})
            continue
        quantity = rnd.choice([1, 2, 3, rnd.randint(1, 50), round(rnd.uniform(0, 20), rnd.randint(0, 3))])
        if credit:
            quantity = -quantity
        price = round(rnd.uniform(0, 500), rnd.choice([2, 2, 2, 3, 4]))
        item = line(quantity, price, rnd.choice([V20, V20, V10, V55, V21, V0]), ttc=tax_included, type_=kind)
        if rnd.random() < 0.3:
            item["discount"] = rnd.choice([{"type": "Percent", "value": round(rnd.uniform(0, 100), 1)},
                                           {"type": "Fixed", "value": round(rnd.uniform(0, 200), 2)}])
        if rnd.random() < 0.3:
            item["purchasePrice"] = round(rnd.uniform(0, 300), 2)
        lines.append(item)
    document = doc(*lines, useTaxIncludedPrices=tax_included, shippingVat=rnd.choice([V20, V10, V55]))
    if rnd.random() < 0.4:
        document["globalDiscount"] = rnd.choice([{"type": "Percent", "value": round(rnd.uniform(0, 100), 2)},
                                                 {"type": "Fixed", "value": round(rnd.uniform(0, 300), 2)}])
    if rnd.random() < 0.4:
        document["shippingAmount"] = round(rnd.uniform(0, 40), 2)
    if rnd.random() < 0.15:
        document["vatReverseCharge"] = True
    return document


def test_invariants_over_generated_documents():
    rnd = random.Random(20260101)
    for _ in range(3000):
        given = _random_document(rnd)
        out = compute(given)
        assert compute(out) == out, given   # a stored document recomputes to itself
        ht, tax, ttc, gross = (_money(out[k]) for k in
                               ("taxExcludedAmount", "taxAmount", "taxIncludedAmount", "grossTaxExcludedAmount"))
        shipping = _money(out["shippingAmount"])
        priced = [ln for ln in out["lines"] if ln.get("type") in ("Product", "Service", None)]
        non_negative = all(ln["quantity"] >= 0 for ln in priced)
        numbers = [ht, tax, ttc, gross] + [_money(r[k]) for r in out["vats"] for k in ("taxExcludedAmount", "vatAmount")]
        numbers += [_money(ln[k]) for ln in out["lines"] for k in ("taxExcludedAmount", "taxIncludedAmount", "marginAmount")
                    if ln.get(k) is not None]
        assert all(n == n.quantize(Decimal("0.01")) for n in numbers), given   # every amount is to the cent
        assert ttc == ht + tax, given
        assert sum((_money(r["taxExcludedAmount"]) for r in out["vats"]), Decimal(0)) == ht, given
        assert sum((_money(r["vatAmount"]) for r in out["vats"]), Decimal(0)) == tax, given
        rates = [r["vat"]["rate"] for r in out["vats"]]
        assert rates == sorted(rates, reverse=True), given
        assert len({r["vat"]["id"] for r in out["vats"]}) == len(out["vats"]), given
        if non_negative:
            assert all(_money(r["vatAmount"]) >= 0 for r in out["vats"]), given
            assert all(_money(r["taxExcludedAmount"]) >= 0 for r in out["vats"]), given
            assert min(ht, tax, ttc, gross) >= 0, given
        if given.get("vatReverseCharge"):
            assert tax == 0 and ttc == ht, given
        if not given.get("globalDiscount") and not shipping:
            assert gross == ht, given
        for row in out["vats"]:
            rate = _money(row["vat"]["rate"]) / 100 if not given.get("vatReverseCharge") else 0
            row_ht, row_vat = _money(row["taxExcludedAmount"]), _money(row["vatAmount"])
            if given["useTaxIncludedPrices"]:
                # HT = round(TTC / (1 + rate)) is within half a cent of the exact value, so VAT within (1 + rate) × 0.005
                assert abs(row_vat - row_ht * rate) <= Decimal("0.005") * (1 + rate), given
            else:
                assert row_vat == (row_ht * rate).quantize(Decimal("0.01"), ROUND_HALF_UP), given
        # the total in the document's price mode is exactly the lines less the global discount plus shipping
        mode_amount = "taxIncludedAmount" if given["useTaxIncludedPrices"] else "taxExcludedAmount"
        lines_total = sum((_money(ln[mode_amount]) for ln in priced), Decimal(0))
        discount = given.get("globalDiscount")
        if discount is None:
            off = Decimal(0)
        elif discount["type"] == "Percent":
            off = (lines_total * _money(discount["value"]) / 100).quantize(Decimal("0.01"), ROUND_HALF_UP)
        else:
            off = min(_money(discount["value"]), abs(lines_total)) * (1 if lines_total >= 0 else -1)
        assert (ttc if given["useTaxIncludedPrices"] else ht) == lines_total - off + shipping, given
        # the line amount in the mode is quantity × price less the discount, to the cent, never changing sign
        for ln in priced:
            assert (_money(ln[mode_amount]) >= 0) == (ln["quantity"] >= 0) or _money(ln[mode_amount]) == 0, ln
