"""The PDF of a sale document: a seller invoices a customer, drafts, credits, quotes, and reads the PDFs back."""

from __future__ import annotations

import copy
import io
from decimal import Decimal

import pytest
from pypdf import PdfReader

from mock_server.pdfs import (
    MAX_CHARACTERS, MAX_LINES, DocumentTooLarge, RenderCancelled, format_amount, format_date, format_rate,
    render_sale_document,
)

NBSP = "\u00a0"

COMPANY = {
    "name": "Atelier Moreau",
    "businessName": "Atelier Moreau",
    "legalStatus": "SARL",
    "capital": 10000.0,
    "siret": "91234567500017",
    "ape": "7410Z",
    "vatNumber": "FR40912345675",
    "registrationNumber": "RCS Lyon 912 345 675",
    "contact": {"firstName": "Claire", "lastName": "Moreau", "email": "claire.moreau@atelier-moreau.fr",
                "phone": "04 78 42 17 63"},
    "invoicingAddress": {"street": "12 rue Mercière", "zipcode": "69002", "city": "Lyon", "countryIso": "FR",
                         "countryName": "France", "formattedAddress": "12 rue Mercière\n69002 Lyon\nFRANCE"},
    "website": "https://www.atelier-moreau.fr",
    "legalMentions": (
        "Atelier Moreau SARL au capital de 10 000 € – RCS Lyon 912 345 675 – SIRET 91234567500017 – "
        "TVA intracommunautaire FR40912345675 – APE 74.10Z. Pas d'escompte pour paiement anticipé."
    ),
}
INVOICE_SETTINGS = {
    "latePaymentPenalty": "En cas de retard de paiement, des pénalités sont exigibles au taux directeur de la BCE "
                          "majoré de 10 points (article L441-10 du Code de commerce).",
    "collectionCosts": "Indemnité forfaitaire pour frais de recouvrement : 40 € (article D441-5 du Code de commerce).",
}
CUSTOMER = {
    "id": 7,
    "number": "C00007",
    "type": "Business",
    "name": "Boulangerie Lefèvre & Fils",
    "companyInformations": {"siret": "44306184100047", "vatNumber": "FR83443061841"},
    "billingAddress": {"street": "3 place Bellecour", "zipcode": "69002", "city": "Lyon", "countryIso": "FR",
                       "formattedAddress": "3 place Bellecour\n69002 Lyon\nFRANCE"},
}


def vat(rate: float) -> dict:
    return {"id": {20.0: 1, 10.0: 2, 5.5: 3}.get(rate, 5), "rate": rate, "region": "FR",
            "label": f"TVA {rate:g} %".replace(".", ",")}


def line(description, quantity, unit_code, price, rate, amount, discount=None, line_type="Service") -> dict:
    taxed = float((Decimal(str(amount)) * (1 + Decimal(str(rate)) / 100)).quantize(Decimal("0.01")))
    return {
        "type": line_type, "description": description, "quantity": quantity,
        "unit": {"code": unit_code, "name": unit_code},
        "taxExcludedPrice": price, "taxIncludedPrice": None, "discount": discount, "vat": vat(rate),
        "taxExcludedAmount": amount, "taxIncludedAmount": taxed,
    }


def invoice(**changes) -> dict:
    """A finalized invoice at three VAT rates with a Text line and a discounted line: 1 234,56 € TTC."""
    document = {
        "id": 42, "number": "F-2026-0042", "isDraft": False, "isPaid": False, "isCancelled": False,
        "date": "2026-11-24", "subject": "Refonte de l’identité visuelle",
        "customerId": 7, "customerName": "Boulangerie Lefèvre & Fils", "customerNumber": "C00007",
        "billingAddress": CUSTOMER["billingAddress"],
        "billingContact": {"firstName": "Julien", "lastName": "Lefèvre", "displayName": "Julien Lefèvre"},
        "lines": [
            line("Atelier de conception du logo", 2, "j", 350.0, 20.0, 630.0, {"type": "Percent", "value": 10}),
            {"type": "Text", "description": "<p>Livraison des fichiers sources <b>sous 8 jours</b>.</p>"},
            line("Impression de 500 cartes de visite", 1, "lot", 243.24, 10.0, 243.24, line_type="Product"),
            line("Livre « Histoire de la typographie »", 2, "ex.", 100.0, 5.5, 200.0, line_type="Product"),
        ],
        "vats": [
            {"vat": vat(20.0), "taxExcludedAmount": 630.0, "vatAmount": 126.0},
            {"vat": vat(10.0), "taxExcludedAmount": 243.24, "vatAmount": 24.32},
            {"vat": vat(5.5), "taxExcludedAmount": 200.0, "vatAmount": 11.0},
        ],
        "grossTaxExcludedAmount": 1073.24, "globalDiscount": None, "shippingAmount": 0.0,
        "taxExcludedAmount": 1073.24, "taxAmount": 161.32, "taxIncludedAmount": 1234.56,
        "balance": 1234.56, "useTaxIncludedPrices": False, "vatReverseCharge": False,
        "commitments": [{"id": 1, "date": "2026-12-24", "amount": 1234.56, "dueAmount": 1234.56}],
        "headerNotes": "Suite à notre rendez-vous du 18 novembre.",
        "footerNotes": "Règlement par virement : IBAN FR76 3000 4000 0500 0012 3456 789.",
    }
    document.update(changes)
    return document


def render(kind="Invoice", document=None, **options) -> bytes:
    options.setdefault("company", COMPANY)
    options.setdefault("customer", CUSTOMER)
    options.setdefault("invoice_settings", INVOICE_SETTINGS)
    return render_sale_document(kind, invoice() if document is None else document, **options)


def pages_text(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def text_of(pdf: bytes) -> str:
    return "\n".join(pages_text(pdf))


# ---------------------------------------------------------------- the documents


def test_invoice_pdf_has_number_dates_parties_vat_summary_and_totals():
    pdf = render()

    assert pdf.startswith(b"%PDF")
    text = text_of(pdf)
    assert "FACTURE" in text
    assert "N° F-2026-0042" in text
    assert "BROUILLON" not in text
    assert "Date : 24/11/2026" in text
    assert "Échéance : 24/12/2026" in text
    # Seller block and legal footer.
    assert "Atelier Moreau" in text
    assert "SIRET : 91234567500017" in text
    assert "TVA intracommunautaire FR40912345675" in text
    assert "RCS Lyon 912 345 675" in text
    # Customer block: the document's own fields, the customer's identifiers.
    assert "Boulangerie Lefèvre & Fils" in text
    assert "À l'attention de Julien Lefèvre" in text
    assert "3 place Bellecour" in text
    assert "SIRET : 44306184100047" in text
    assert "Client n° : C00007" in text
    # Lines: the Text line without its HTML, the line discount, the units.
    assert "Livraison des fichiers sources sous 8 jours." in text
    assert "<p>" not in text
    assert f"10{NBSP}%" in text
    assert "Livre « Histoire de la typographie »" in text
    # One VAT summary row per rate: rate, base, VAT.
    for row in (f"20{NBSP}% 630,00{NBSP}€ 126,00{NBSP}€", f"10{NBSP}% 243,24{NBSP}€ 24,32{NBSP}€",
                f"5,5{NBSP}% 200,00{NBSP}€ 11,00{NBSP}€"):
        assert row in text
    assert f"Total HT 1{NBSP}073,24{NBSP}€" in text
    assert f"Total TVA 161,32{NBSP}€" in text
    assert f"Total TTC 1{NBSP}234,56{NBSP}€" in text
    assert f"Net à payer 1{NBSP}234,56{NBSP}€" in text
    # Payment terms and notes.
    assert "pénalités sont exigibles" in text
    assert "Indemnité forfaitaire pour frais de recouvrement : 40 €" in text
    assert "Suite à notre rendez-vous du 18 novembre." in text
    assert "Autoliquidation" not in text
    assert "Page 1/1" in text


def test_partially_paid_invoice_shows_what_is_left_to_pay():
    text = text_of(render(document=invoice(balance=234.56)))

    assert f"Déjà réglé 1{NBSP}000,00{NBSP}€" in text
    assert f"Net à payer 234,56{NBSP}€" in text


def test_draft_invoice_says_brouillon_instead_of_a_number():
    pdf = render(document=invoice(number=None, isDraft=True, commitments=[]))

    text = text_of(pdf)
    assert pdf.startswith(b"%PDF")
    assert "BROUILLON" in text
    assert "N° " not in text.replace("N° TVA", "")
    assert "Échéance" not in text
    assert f"Total TTC 1{NBSP}234,56{NBSP}€" in text


def reverse_charged(**changes) -> dict:
    """A 1 500 € invoice whose customer owes the VAT: its line keeps its 20 % rate, counted as 0."""
    lines = [line("Direction artistique", 3, "j", 500.0, 20.0, 1500.0)]
    return invoice(
        vatReverseCharge=True, lines=lines, vats=[{"vat": vat(20.0), "taxExcludedAmount": 1500.0, "vatAmount": 0.0}],
        grossTaxExcludedAmount=1500.0, taxExcludedAmount=1500.0, taxAmount=0.0, taxIncludedAmount=1500.0,
        balance=1500.0, **changes)


def test_reverse_charged_invoice_shows_autoliquidation_and_the_cgi_mention():
    text = text_of(render(document=reverse_charged()))

    assert "Autoliquidation – TVA due par le preneur, art. 283-2 du CGI" in text
    assert f"Autoliquidation 1{NBSP}500,00{NBSP}€ 0,00{NBSP}€" in text  # the VAT summary row
    assert f"20{NBSP}%" not in text
    assert "Direction artistique 3 j 500,00 Autoliquidation 1" in text.replace(NBSP, " ")


def test_reverse_charge_to_another_eu_country_cites_the_directive():
    document = reverse_charged(
        customerName="Bäckerei Müller GmbH", customerVatNumber="DE123456789",
        billingAddress={"street": "Hauptstraße 5", "zipcode": "10115", "city": "Berlin", "countryIso": "DE",
                        "countryName": "Allemagne"})

    text = text_of(render(document=document, customer=None))

    assert "Autoliquidation – TVA due par le preneur, art. 196 de la directive 2006/112/CE" in text
    assert "283-2" not in text
    assert "Bäckerei Müller GmbH" in text
    assert "N° TVA : DE123456789" in text


def test_consumer_invoice_has_no_b2b_payment_mentions():
    consumer = {**CUSTOMER, "type": "Consumer", "name": "Camille Durand", "companyInformations": None}

    text = text_of(render(document=invoice(customerType="Consumer", customerName="Camille Durand"),
                          customer=consumer))

    assert "Camille Durand" in text
    assert "Date d'échéance : 24/12/2026." in text
    assert "pénalités" not in text
    assert "40 €" not in text and "recouvrement" not in text
    assert "SIREN" not in text


@pytest.mark.parametrize("customer_type", ["Business", "Government"])
def test_professional_customers_get_the_penalty_rate_the_recovery_indemnity_and_their_siren(customer_type):
    text = text_of(render(document=invoice(customerType=customer_type),
                          customer={**CUSTOMER, "type": customer_type}))

    assert "pénalités sont exigibles au taux directeur de la BCE" in text
    assert "Indemnité forfaitaire pour frais de recouvrement : 40 €" in text
    assert "SIREN : 443061841" in text


@pytest.mark.parametrize(
    ("types", "category"),
    [(["Product"], "Livraison de biens"), (["Service"], "Prestation de services"),
     (["Product", "Service"], "Mixte (livraison de biens et prestation de services)")],
)
def test_invoice_states_the_category_of_the_operation(types, category):
    lines = [line(f"Ligne {t}", 1, "u", 100.0, 20.0, 100.0, line_type=t) for t in types]
    lines.append({"type": "Text", "description": "Merci de votre confiance."})

    text = text_of(render(document=invoice(lines=lines)))

    assert f"Catégorie de l'opération : {category}" in text


def test_vat_on_debits_option_is_printed_when_the_settings_say_so():
    debit = text_of(render(vat_settings={"liableToVat": True, "vatMode": "Debit"}))
    collection = text_of(render(vat_settings={"liableToVat": True, "vatMode": "Collection"}))
    document_says_collection = text_of(render(document=invoice(vatMode="Collection"),
                                              vat_settings={"liableToVat": True, "vatMode": "Debit"}))
    goods_only = text_of(render(document=invoice(lines=[line("Livre", 1, "ex.", 100.0, 5.5, 100.0, line_type="Product")]),
                                vat_settings={"liableToVat": True, "vatMode": "Debit"}))

    assert "Option pour le paiement de la TVA d'après les débits" in debit
    assert "débits" not in collection
    assert "débits" not in document_says_collection
    assert "débits" not in goods_only  # VAT on goods is due on delivery: no option to state


def test_quote_has_no_invoice_mentions():
    document = invoice(number="D-2026-0017", validityDate="2026-12-24", status="Pending")

    text = text_of(render("Quote", document, vat_settings={"liableToVat": True, "vatMode": "Debit"}))

    assert "Catégorie de l'opération" not in text
    assert "débits" not in text
    assert "pénalités" not in text


def test_credit_pdf_refers_to_the_cancelled_invoice():
    document = invoice(number="A-2026-0003", cancelledInvoicetNumber="F-2026-0042", cancelledInvoicetId=42)
    for field in ("isCancelled", "commitments"):
        document.pop(field)

    text = text_of(render("Credit", document))

    assert "AVOIR" in text
    assert "N° A-2026-0003" in text
    assert "Avoir sur facture n° F-2026-0042" in text
    assert f"Total TTC 1{NBSP}234,56{NBSP}€" in text
    assert "Net à payer" not in text
    assert "Échéance" not in text


def test_quote_pdf_has_its_validity_date_deposit_and_acceptance_box():
    document = invoice(number="D-2026-0017", validityDate="2026-12-24", deposit={"type": "Percent", "value": 30},
                       status="Pending")
    for field in ("isDraft", "isPaid", "isCancelled", "commitments", "balance"):
        document.pop(field)

    text = text_of(render("Quote", document))

    assert "DEVIS" in text
    assert "N° D-2026-0017" in text
    assert "Valable jusqu'au : 24/12/2026" in text
    assert f"Acompte à la commande 30{NBSP}%" in text
    assert "Bon pour accord" in text
    assert f"Total TTC 1{NBSP}234,56{NBSP}€" in text
    assert "Net à payer" not in text


def test_tax_included_prices_global_discount_and_shipping():
    document = invoice(useTaxIncludedPrices=True, globalDiscount={"type": "Percent", "value": 5},
                       shippingAmount=12.5)
    for item in document["lines"]:
        if item.get("taxExcludedPrice"):
            item["taxIncludedPrice"] = round(item["taxExcludedPrice"] * (1 + item["vat"]["rate"] / 100), 2)

    text = text_of(render(document=document))

    assert "PU TTC" in text and "Total TTC" in text and "PU HT" not in text
    assert "420,00" in text  # 350,00 HT at 20 %
    assert f"Remise globale -5{NBSP}%" in text
    assert f"Frais de port 12,50{NBSP}€" in text


def test_seller_not_liable_to_vat_prints_the_exemption_text():
    text = text_of(render(document=invoice(liableToVat=None),
                          vat_settings={"liableToVat": False, "nonLiableTextToPrint": "TVA non applicable, art. 293 B du CGI"}))

    assert "TVA non applicable, art. 293 B du CGI" in text


def test_customer_record_fills_what_the_document_leaves_out():
    document = invoice(customerName=None, customerNumber=None, billingAddress=None, billingContact=None)

    text = text_of(render(document=document))

    assert "Boulangerie Lefèvre & Fils" in text
    assert "3 place Bellecour" in text
    assert "Client n° : C00007" in text


def test_company_without_legal_mentions_gets_them_composed_from_its_identifiers():
    company = {key: value for key, value in COMPANY.items() if key != "legalMentions"}

    text = text_of(render(company=company))

    assert (f"Atelier Moreau SARL au capital de 10{NBSP}000,00{NBSP}€ – RCS Lyon 912 345 675 – "
            "SIRET 91234567500017 – TVA intracommunautaire FR40912345675 – APE 7410Z") in text


def test_text_outside_the_core_font_is_mapped_not_rejected():
    document = invoice(subject="Prestation\u202fpour Łódź 🚀", footerNotes="Montant\u2009net \u2212 remise")

    text = text_of(render(document=document))

    assert f"Prestation{NBSP}pour Lódz ?" in text
    assert "Montant net - remise" in text


def test_long_invoice_spans_pages_with_headers_and_totals_on_the_last_page():
    lines = [line(f"Heure de développement n° {index}", 1, "h", 10.0, 20.0, 10.0) for index in range(1, 121)]
    lines.insert(60, {"type": "Subtotal", "description": "Sous-total lot 1", "taxExcludedAmount": 600.0})
    document = invoice(lines=lines, vats=[{"vat": vat(20.0), "taxExcludedAmount": 1200.0, "vatAmount": 240.0}],
                       grossTaxExcludedAmount=1200.0, taxExcludedAmount=1200.0, taxAmount=240.0,
                       taxIncludedAmount=1440.0, balance=1440.0)

    pages = pages_text(render(document=document))

    assert len(pages) >= 2
    count = len(pages)
    for number, page in enumerate(pages, start=1):
        assert f"Page {number}/{count}" in page
        assert "Désignation" in page or number == count  # the table header is repeated on every table page
    assert "Heure de développement n° 1\n" in pages[0] or "Heure de développement n° 1 " in pages[0]
    assert "Heure de développement n° 120" in "\n".join(pages)
    assert "Sous-total lot 1 600,00" in "\n".join(pages)
    assert f"Total TTC 1{NBSP}440,00{NBSP}€" in pages[-1]
    assert f"Net à payer 1{NBSP}440,00{NBSP}€" in pages[-1]
    assert "Facture n° F-2026-0042" in pages[1]  # running title on continuation pages


def test_a_description_longer_than_a_page_is_split_across_pages():
    long_text = "\n".join(f"Étape {index} du cahier des charges" for index in range(1, 90))
    document = invoice(lines=[line(long_text, 1, "forfait", 1000.0, 20.0, 1000.0)])

    pages = pages_text(render(document=document))

    assert len(pages) >= 2
    joined = "\n".join(pages)
    assert "Étape 1 du cahier" in joined and "Étape 89 du cahier" in joined


def test_explicit_new_page_line_starts_a_new_page():
    document = invoice()
    document["lines"].insert(2, {"type": "NewPage"})

    pages = pages_text(render(document=document))

    assert len(pages) == 2
    assert "Atelier de conception du logo" in pages[0]
    assert "Impression de 500 cartes de visite" in pages[1]


@pytest.mark.slow  # a big PDF: seconds of rendering
def test_a_300000_character_word_is_broken_across_lines_and_pages():
    word = "".join(chr(ord("a") + index % 26) for index in range(300_000))
    document = invoice(lines=[line(word, 1, "forfait", 1000.0, 20.0, 1000.0)])

    pages = pages_text(render(document=document))

    # Every character is printed, in order, once the line breaks are taken out.
    printed = "".join(
        row for page in pages for row in page.split("\n") if row and set(row) <= set("abcdefghijklmnopqrstuvwxyz"))
    assert printed == word
    assert f"Total TTC 1{NBSP}234,56{NBSP}€" in pages[-1]


@pytest.mark.slow  # a big PDF: seconds of rendering
def test_a_10000_line_invoice_is_paginated():
    lines = [line(f"Article {index}", 1, "u", 1.0, 20.0, 1.0, line_type="Product") for index in range(1, 10_001)]
    document = invoice(lines=lines, vats=[{"vat": vat(20.0), "taxExcludedAmount": 10000.0, "vatAmount": 2000.0}],
                       grossTaxExcludedAmount=10000.0, taxExcludedAmount=10000.0, taxAmount=2000.0,
                       taxIncludedAmount=12000.0, balance=12000.0)

    reader = PdfReader(io.BytesIO(render(document=document)))

    # Reading 10,000 lines back takes longer than printing them: the first page and the last ones.
    count = len(reader.pages)
    first, *last = (reader.pages[index].extract_text() for index in (0, count - 3, count - 2, count - 1))
    assert count > 10_000 // 60  # no page holds more than 60 rows
    assert "Article 1 " in first and "Article 2 " in first
    assert "Article 10000 " in "\n".join(last)
    assert f"Page {count}/{count}" in last[-1]
    assert f"Total TTC 12{NBSP}000,00{NBSP}€" in "\n".join(last)


def test_a_document_beyond_the_print_limits_is_refused_with_the_reason():
    too_many_lines = invoice(lines=[{"type": "Empty"}] * (MAX_LINES + 1))
    too_much_text = invoice(footerNotes="x" * (MAX_CHARACTERS + 1))

    with pytest.raises(DocumentTooLarge, match=f"{MAX_LINES + 1} lignes \\({MAX_LINES} au plus\\)"):
        render(document=too_many_lines)
    with pytest.raises(DocumentTooLarge, match=f"caractères dans ses lignes et ses notes \\({MAX_CHARACTERS} au plus\\)"):
        render(document=too_much_text)


def test_a_render_stops_at_its_next_line_once_its_client_has_left():
    asked = []

    def cancelled() -> bool:  # the client leaves while the third line is drawn
        asked.append(len(asked) + 1)
        return len(asked) > 3

    with pytest.raises(RenderCancelled):
        render_sale_document("Invoice", invoice(lines=[line("Ligne", 1, "u", 1.0, 20.0, 1.0)] * 1000),
                             company={}, customer=None, cancelled=cancelled)
    assert asked == [1, 2, 3, 4]


def test_rendering_is_deterministic():
    first = render()
    second = render(document=copy.deepcopy(invoice()))

    assert first == second
    assert PdfReader(io.BytesIO(first)).metadata.creation_date.date().isoformat() == "2026-11-24"


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError):
        render("PurchaseInvoice")


# ---------------------------------------------------------------- formatting helpers


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, "0,00 €"),
        (0.0, "0,00 €"),
        (-0.001, "0,00 €"),
        (5, "5,00 €"),
        (-12.5, "-12,50 €"),
        (999.99, "999,99 €"),
        (1234.56, "1 234,56 €"),
        (-1234567.891, "-1 234 567,89 €"),
        (2.675, "2,68 €"),
        (1.005, "1,01 €"),
        (-2.675, "-2,68 €"),
        (Decimal("0.125"), "0,13 €"),
        ("1000", "1 000,00 €"),
    ],
)
def test_format_amount(value, expected):
    assert format_amount(value) == expected.replace(" ", NBSP)


def test_format_amount_without_symbol_and_of_nothing():
    assert format_amount(1234.5, currency=None) == f"1{NBSP}234,50"
    assert format_amount(None) == ""


@pytest.mark.parametrize(("rate", "expected"), [(20.0, "20 %"), (5.5, "5,5 %"), (2.1, "2,1 %"), (0, "0 %")])
def test_format_rate(rate, expected):
    assert format_rate(rate) == expected.replace(" ", NBSP)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2026-11-24", "24/11/2026"), ("2026-01-05T09:30:00Z", "05/01/2026"), ("2026-02-28T23:59:59+01:00", "28/02/2026"),
     (None, ""), ("", "")],
)
def test_format_date(value, expected):
    assert format_date(value) == expected


def test_format_date_refuses_garbage():
    with pytest.raises(ValueError):
        format_date("24/11/2026")
