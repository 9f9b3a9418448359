"""PDF rendering of sale documents (invoices, credits, quotes): API dicts in, PDF bytes out.

Pure module: no Flask, no store. The caller passes the document as the API returns it, the
seller (`Settings.company`) and, when known, the customer; `render_sale_document` lays out an
A4 French document (title and number or BROUILLON, dates, seller and customer blocks, lines,
VAT summary, totals, legal mentions, "Page n/N" footer) with fpdf2.

Mentions follow the customer: the late-payment penalty and the 40 € recovery indemnity only for
professional customers (Business, Government), with their SIREN; a reverse-charged document shows
"Autoliquidation" as the rate and says the customer owes the VAT (CGI 283-2, or the EU directive
for a customer in another member state); invoices and credits state the category of the operation
(goods, services, mixed) and, for services, the option for VAT on debits when the settings say so.

Layout is linear in the input: words are measured from per-character widths and long words cut
between characters in one pass, text is drawn with `FPDF.text` rather than `cell`, and the lines
table paginates itself. A document beyond `MAX_LINES` / `MAX_CHARACTERS` raises `DocumentTooLarge`.

Fonts and encoding: the PDF uses fpdf2's built-in Helvetica with `core_fonts_encoding` set to
windows-1252, which fpdf2 writes as /WinAnsiEncoding. That covers French (accents, œ, «»,
°) and the "€", "’", "–" and no-break space characters, needs no font file (nothing in the
project's dependencies ships a TTF, and system fonts are absent on a fresh CI machine), and
pypdf extracts the text back as the original Unicode. Characters outside windows-1252 are
mapped before drawing: narrow and thin no-break spaces become U+00A0, other dashes and
minus signs become "-", accented letters outside the code page lose their accent, anything
else becomes "?". Amounts, quantities and rates therefore use U+00A0 (not the typographic
U+202F, absent from windows-1252) as thousands separator and before "€" / "%", so that an
amount never wraps: `format_amount(1234.56) == "1\u00a0234,56\u00a0€"`.

Output is deterministic: the PDF creation date is the document's date (midnight UTC, or a
fixed date when the document has none), so rendering the same input twice gives the same bytes.
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata
from datetime import date, datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Callable

from .offload import off_loop


__all__ = ["render_sale_document", "format_amount", "format_date", "format_rate", "DocumentTooLarge", "RenderCancelled",
           "MAX_LINES", "MAX_CHARACTERS", "REVERSE_CHARGE_MENTION", "EU_REVERSE_CHARGE_MENTION",
           "DEBIT_OPTION_MENTION"]

NBSP = "\u00a0"
REVERSE_CHARGE = "Autoliquidation"
REVERSE_CHARGE_MENTION = "Autoliquidation – TVA due par le preneur, art. 283-2 du CGI"
EU_REVERSE_CHARGE_MENTION = "Autoliquidation – TVA due par le preneur, art. 196 de la directive 2006/112/CE"
DEFAULT_NON_LIABLE_MENTION = "TVA non applicable, art. 293 B du CGI"
DEBIT_OPTION_MENTION = "Option pour le paiement de la TVA d'après les débits"
# Category of the operation (mandatory on invoices from the 2026 e-invoicing reform), by the
# types of the lines: goods, services, or both.
_CATEGORIES = {frozenset({"Product"}): "Livraison de biens", frozenset({"Service"}): "Prestation de services",
               frozenset({"Product", "Service"}): "Mixte (livraison de biens et prestation de services)"}
# Customers that are professionals: the late-payment penalty and the 40 € recovery indemnity
# (Code de commerce L441-10, D441-5) are B2B mentions, not printed for consumers.
_PROFESSIONAL_TYPES = ("Business", "Government")
_EU_COUNTRIES = frozenset("AT BE BG CY CZ DE DK EE ES FI GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK".split())

# Beyond these a document is refused rather than printed (layout is linear, about 0.5 ms a line):
# far above any real invoice, they bound the time one download can take.
MAX_LINES = 20_000
MAX_CHARACTERS = 1_000_000  # of line descriptions and notes

# Title printed on the document, and the word used in running titles and metadata.
_KINDS = {"Invoice": ("FACTURE", "Facture"), "Credit": ("AVOIR", "Avoir"), "Quote": ("DEVIS", "Devis")}
_ENCODING = "windows-1252"
# When a document has no date the creation date still has to be fixed for reproducible bytes.
_FALLBACK_CREATION_DATE = datetime(2000, 1, 1, tzinfo=timezone.utc)
_CENT = Decimal("0.01")

# Geometry (mm) and colours.
_MARGIN = 15.0
_PAGE_WIDTH = 210.0
_CONTENT_WIDTH = _PAGE_WIDTH - 2 * _MARGIN
_RIGHT_X = 115.0
_RIGHT_WIDTH = _PAGE_WIDTH - _MARGIN - _RIGHT_X
_TABLE_FONT = 8.5
_TABLE_LINE = 4.0
_TABLE_PAD = 1.3
_FOOTER_FONT = 7.0
_FOOTER_LINE = 3.0
_FOOTER_MAX_LINES = 8
_BLOCK_MAX_LINES = 4
_GREY_TEXT = (90, 90, 90)
_RULE = (200, 200, 200)
_HEADER_FILL = (232, 236, 241)
_WATERMARK = (232, 232, 232)

_CHAR_MAP = {
    "\u202f": NBSP, "\u2007": NBSP, "\u2009": " ", "\u200a": " ", "\u2002": " ", "\u2003": " ",
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2212": "-", "\u2015": "—",
    "\u200b": "", "\ufeff": "", "\t": " ", "\r": "",
    # Letters without a Unicode decomposition to their base letter.
    "Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Ħ": "H", "ħ": "h", "ı": "i",
}
_MAPPED = frozenset(_CHAR_MAP)


# ---------------------------------------------------------------- public formatting helpers

def format_amount(value, currency: str | None = "€") -> str:
    """Format a money amount the French way, rounded half-up to the cent: 1234.5 -> "1 234,50 €".

    The separators are no-break spaces (U+00A0). `currency=None` leaves the symbol out;
    `None` formats as "".
    """
    if value is None:
        return ""
    number = _decimal(value).quantize(_CENT, rounding=ROUND_HALF_UP)
    text = _group(number, 2)
    return f"{text}{NBSP}{currency}" if currency else text


def format_date(iso) -> str:
    """Format an ISO date or date-time ("2026-11-24", "2026-11-24T09:30:00Z") as "24/11/2026"; None -> ""."""
    if iso is None or iso == "":
        return ""
    if isinstance(iso, datetime):
        iso = iso.date()
    if not isinstance(iso, date):
        iso = date.fromisoformat(str(iso).strip()[:10])
    return iso.strftime("%d/%m/%Y")


def format_rate(rate) -> str:
    """Format a percentage the French way: 5.5 -> "5,5 %", 20.0 -> "20 %" (no-break space); None -> ""."""
    if rate is None:
        return ""
    return f"{_format_number(rate)}{NBSP}%"


# ---------------------------------------------------------------- entry point

def render_sale_document(
    kind: str,
    document: dict,
    *,
    company: dict,
    customer: dict | None,
    vat_settings: dict | None = None,
    invoice_settings: dict | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> bytes:
    """A real PDF of an Invoice / Credit / Quote (kind is "Invoice", "Credit" or "Quote").

    `company` is `Settings.company` (CompanySettingsDto), `customer` the Customer when known
    (the document's own customer fields win), `vat_settings` `Settings.vat` (VatSettingsDto,
    for the non-liable mention) and `invoice_settings` `Settings.sales.invoices`
    (InvoiceSettingsDto, for the late-payment and collection-costs mentions on invoices).
    `cancelled`, asked before each line, stops the render with `RenderCancelled` once it is true
    (its client left).
    """
    off_loop("a PDF is rendered")
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {sorted(_KINDS)}, not {kind!r}")
    _check_size(document or {})
    return _Renderer(kind, document or {}, company or {}, customer or {}, vat_settings or {},
                     invoice_settings or {}, cancelled).render()


class RenderCancelled(Exception):
    """The render was stopped before its end: its `cancelled` check said so."""


class DocumentTooLarge(ValueError):
    """A document over `MAX_LINES` lines or `MAX_CHARACTERS` characters of text: not printed."""


def _check_size(document: dict) -> None:
    lines = document.get("lines") or []
    if len(lines) > MAX_LINES:
        raise DocumentTooLarge(f"Document trop volumineux pour être imprimé en PDF : {len(lines)} lignes "
                               f"({MAX_LINES} au plus)")
    characters = sum(len(str(line.get("description") or "")) for line in lines if isinstance(line, dict))
    characters += sum(len(str(document.get(field) or "")) for field in ("headerNotes", "footerNotes", "vatNote"))
    if characters > MAX_CHARACTERS:
        raise DocumentTooLarge(f"Document trop volumineux pour être imprimé en PDF : {characters} caractères "
                               f"dans ses lignes et ses notes ({MAX_CHARACTERS} au plus)")


# ---------------------------------------------------------------- text and number helpers

def _decimal(value) -> Decimal:
    # str() first: Decimal(2.675) is 2.67499999..., Decimal("2.675") is what the user typed.
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _group(number: Decimal, decimals: int) -> str:
    """French digits of an already rounded number: no-break-space thousands, comma decimals."""
    if number == 0:
        number = abs(number)  # no "-0,00"
    sign = "-" if number < 0 else ""
    digits = f"{abs(number):.{decimals}f}"
    units, _, fraction = digits.partition(".")
    grouped = f"{int(units):,}".replace(",", NBSP)
    return f"{sign}{grouped},{fraction}" if fraction else f"{sign}{grouped}"


def _format_number(value, max_decimals: int = 3) -> str:
    """A quantity or rate with only the decimals it needs: 1.0 -> "1", 1.25 -> "1,25", 1000 -> "1 000"."""
    number = _decimal(value).quantize(Decimal(1).scaleb(-max_decimals), rounding=ROUND_HALF_UP)
    text = _group(number, max_decimals)
    if "," in text:
        text = text.rstrip("0").rstrip(",")
    return text


def _pdf_text(value) -> str:
    """Any value as text the windows-1252 core font can draw (see the module docstring)."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFC", str(value).replace("\r\n", "\n"))
    try:
        text.encode(_ENCODING)
        if _MAPPED.isdisjoint(text):
            return text  # the common case, without a look at each character
    except UnicodeEncodeError:
        pass
    out = []
    for char in text:
        char = _CHAR_MAP.get(char, char)
        try:
            char.encode(_ENCODING)
        except UnicodeEncodeError:
            stripped = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
            try:
                stripped.encode(_ENCODING)
                char = stripped or "?"
            except UnicodeEncodeError:
                char = "?"
        out.append(char)
    return "".join(out)


_BREAK_TAGS = re.compile(r"<\s*(br|/p|/div|/li|/h[1-6]|/tr)\b[^>]*>", re.IGNORECASE)
_ITEM_TAGS = re.compile(r"<\s*li\b[^>]*>", re.IGNORECASE)
_ANY_TAG = re.compile(r"<[^>]+>")


def _plain(value) -> str:
    """Text of a field that may hold HTML (line descriptions, notes), ready to draw."""
    if value is None:
        return ""
    text = str(value)
    if "<" in text and ">" in text:
        text = _BREAK_TAGS.sub("\n", text)
        text = _ITEM_TAGS.sub("• ", text)
        text = _ANY_TAG.sub("", text)
    text = html.unescape(text)
    text = "\n".join(line.strip() for line in text.replace("\r\n", "\n").split("\n"))
    return _pdf_text(re.sub(r"\n{3,}", "\n\n", text).strip())


def _first(*values):
    """The first value that is neither None nor blank."""
    for value in values:
        if value is not None and not (isinstance(value, str) and not value.strip()):
            return value
    return None


def _address_lines(address: dict | None) -> list[str]:
    if not address:
        return []
    if _first(address.get("formattedAddress")):
        return [line for line in str(address["formattedAddress"]).split("\n") if line.strip()]
    locality = " ".join(p for p in (address.get("zipcode"), address.get("city")) if p)
    street = str(address.get("street") or "").split("\n")
    country = address.get("countryName") if (address.get("countryIso") or "FR").upper() != "FR" else None
    return [line for line in (*street, locality, country) if line and line.strip()]


def _contact_name(contact: dict | None) -> str | None:
    if not contact:
        return None
    return _first(
        contact.get("displayName"),
        " ".join(p for p in (contact.get("title"), contact.get("firstName"), contact.get("lastName")) if p),
    )


def _creation_date(document: dict) -> datetime:
    try:
        day = date.fromisoformat(str(document.get("date"))[:10])
    except ValueError:
        return _FALLBACK_CREATION_DATE
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)


# ---------------------------------------------------------------- the FPDF document

@functools.lru_cache(maxsize=1)
def _pdf_class():
    """The FPDF document class, made at the first render: importing fpdf2 is a good part of the
    sandbox's start-up, and most runs never render a PDF."""
    from fpdf import FPDF

    class _SaleDocumentPdf(FPDF):
        """FPDF with the running parts of every page: draft watermark, continuation title, footer."""

        def __init__(self, running_title: str, watermark: str | None):
            super().__init__(orientation="P", unit="mm", format="A4")
            self.core_fonts_encoding = _ENCODING
            self.running_title = running_title
            self.watermark = watermark
            self.footer_lines: list[str] = []
            self.set_margins(_MARGIN, _MARGIN, _MARGIN)
            # Per font, the width of each character at a size of 1: the core fonts have no kerning, so
            # a text's width is the sum of its characters' (fpdf2's get_string_width measures the whole
            # string at each call, which made wrapping a long word quadratic).
            self._unit_widths: dict[str, dict[str, float]] = {}

        def _widths(self) -> dict[str, float]:
            return self._unit_widths.setdefault(self.current_font.fontkey, {})

        def _unit_width(self, widths: dict[str, float], char: str) -> float:
            width = widths.get(char)
            if width is None:
                width = widths[char] = self.get_string_width(char) / self.font_size
            return width

        def text_width(self, text: str) -> float:
            """The width of text (already drawable, see `_pdf_text`) in the current font."""
            widths = self._widths()
            return sum(widths[c] if c in widths else self._unit_width(widths, c) for c in text) * self.font_size

        def wrap(self, text: str, width: float) -> list[str]:
            """Break text into lines no wider than width at regular spaces (never at no-break spaces),
            and a word wider than the column (a URL, a reference) between characters; linear in the text."""
            widths, size = self._widths(), self.font_size
            limit = width / size

            def measure(chars: str) -> float:
                return sum(widths[c] if c in widths else self._unit_width(widths, c) for c in chars)

            space = measure(" ")
            lines = []
            for paragraph in text.split("\n"):
                words: list[str] = []  # the line being filled
                filled = 0.0
                for word in paragraph.split(" "):
                    if not words and not word:
                        continue  # spaces that would start a line
                    word_width = measure(word)
                    gap = space if words else 0.0
                    if filled + gap + word_width <= limit:
                        words.append(word)
                        filled += gap + word_width
                        continue
                    if words:
                        lines.append(" ".join(words))
                    if word_width > limit:
                        start, run = 0, 0.0
                        for index, char in enumerate(word):
                            char_width = widths[char] if char in widths else self._unit_width(widths, char)
                            if run + char_width > limit and index > start:
                                lines.append(word[start:index])
                                start, run = index, 0.0
                            run += char_width
                        word, word_width = word[start:], run
                    words, filled = [word], word_width
                lines.append(" ".join(words))
            return lines

        def draw(self, x: float, y: float, w: float, h: float, text: str, align: str = "L", fill: bool = False):
            """Draw what `cell(w, h, text, align=align, fill=fill)` would at (x, y), without moving the
            cursor or breaking the page: cell's layout machinery costs ten times as much, and a
            10,000-line invoice draws 70,000 of them."""
            if fill:
                self.rect(x, y, w, h, style="F")
            if not text:
                return
            if align == "L":
                left = x + self.c_margin
            else:
                text_width = self.text_width(text)
                left = x + w - self.c_margin - text_width if align == "R" else x + (w - text_width) / 2
            self.text(left, y + 0.5 * h + 0.3 * self.font_size, text)

        def set_footer_lines(self, lines: list[str]):
            """The legal mentions printed at the bottom of every page; the page body ends above them."""
            self.footer_lines = lines
            self.set_auto_page_break(True, margin=self.footer_height() + 4)

        def footer_height(self) -> float:
            return 3 + len(self.footer_lines) * _FOOTER_LINE + 5

        def header(self):
            if self.watermark:
                self.set_font("Helvetica", "B", 90)
                self.set_text_color(*_WATERMARK)
                width = self.get_string_width(self.watermark)
                with self.rotation(angle=45, x=_PAGE_WIDTH / 2, y=148.5):
                    self.text(_PAGE_WIDTH / 2 - width / 2, 148.5 + 11, self.watermark)
                self.set_text_color(0, 0, 0)
            if self.page_no() > 1:
                self.set_font("Helvetica", "", 8)
                self.set_text_color(*_GREY_TEXT)
                self.set_xy(_MARGIN, 8)
                self.cell(_CONTENT_WIDTH, 4, self.running_title)
                self.set_text_color(0, 0, 0)
                self.set_y(_MARGIN)

        def footer(self):
            top = self.h - self.footer_height() - 2
            self.set_draw_color(*_RULE)
            self.line(_MARGIN, top, _PAGE_WIDTH - _MARGIN, top)
            self.set_font("Helvetica", "", _FOOTER_FONT)
            self.set_text_color(*_GREY_TEXT)
            y = top + 2
            for line in self.footer_lines:
                self.set_xy(_MARGIN, y)
                self.cell(_CONTENT_WIDTH, _FOOTER_LINE, line, align="C")
                y += _FOOTER_LINE
            self.set_xy(_MARGIN, y + 1)
            self.cell(_CONTENT_WIDTH, 4, f"Page {self.page_no()}/{self.str_alias_nb_pages}", align="R")
            self.set_text_color(0, 0, 0)

    return _SaleDocumentPdf


# ---------------------------------------------------------------- layout
class _Renderer:
    """Lays out one sale document on a `_SaleDocumentPdf`, top to bottom."""

    def __init__(self, kind, document, company, customer, vat_settings, invoice_settings, cancelled=None):
        self.kind = kind
        self.cancelled = cancelled
        self.doc = document
        self.company = company
        self.customer = customer
        self.vat_settings = vat_settings
        self.invoice_settings = invoice_settings
        self.tax_included = bool(document.get("useTaxIncludedPrices"))
        self.reverse_charge = bool(document.get("vatReverseCharge"))
        # A document of an unknown customer keeps the professional mentions.
        customer_type = _first(document.get("customerType"), customer.get("type"))
        self.professional = customer_type is None or customer_type in _PROFESSIONAL_TYPES
        self.number = _first(document.get("number"))
        self.is_draft = bool(document.get("isDraft")) or self.number is None
        title, word = _KINDS[kind]
        if kind == "Invoice" and document.get("isProforma"):
            title, word = "FACTURE PROFORMA", "Facture proforma"
        self.title = title
        seller = _first(company.get("businessName"), company.get("name")) or ""
        reference = f"n° {self.number}" if self.number else "brouillon"
        self.running_title = _pdf_text(f"{word} {reference} – {seller}".rstrip(" –"))

    # -- drawing primitives

    def _font(self, size: float, style: str = ""):
        self.pdf.set_font("Helvetica", style, size)

    def _cell(self, x, y, w, h, text, align="L", fill=False):
        self.pdf.draw(x, y, w, h, _pdf_text(text), align=align, fill=fill)

    def _block(self, x, y, w, rows, line_height=4.2) -> float:
        """Draw (text, size, style) rows wrapped to width w from (x, y); return the y below them."""
        for text, size, style in rows:
            if not _first(text):
                continue
            self._font(size, style)
            height = max(line_height, size * 0.42)
            lines = self.pdf.wrap(_pdf_text(text), w)
            if len(lines) > _BLOCK_MAX_LINES:  # the heading never breaks the page: a name is not a notes field
                lines = lines[:_BLOCK_MAX_LINES - 1] + [lines[_BLOCK_MAX_LINES - 1].rstrip() + " …"]
            for line in lines:
                self._cell(x, y, w, height, line)
                y += height
        return y

    def _paragraph(self, text, size=8.5, style="", gap=1.5, line_height=4.0):
        """Flowing text across the full width, breaking pages as needed."""
        text = _first(text)
        if not text:
            return
        self._font(size, style)
        self.pdf.set_y(self.pdf.get_y() + gap)
        for line in self.pdf.wrap(text, _CONTENT_WIDTH):
            if self.pdf.will_page_break(line_height):
                self.pdf.add_page()
                self._font(size, style)
            self._cell(_MARGIN, self.pdf.get_y(), _CONTENT_WIDTH, line_height, line)
            self.pdf.set_y(self.pdf.get_y() + line_height)

    # -- document

    def render(self) -> bytes:
        self.pdf = pdf = _pdf_class()(self.running_title, "BROUILLON" if self.is_draft else None)
        pdf.set_footer_lines(self._footer_lines())
        seller = _first(self.company.get("businessName"), self.company.get("name"))
        pdf.set_title(self.running_title)
        if seller:
            pdf.set_author(_pdf_text(seller))
        if _first(self.doc.get("subject")):
            pdf.set_subject(_pdf_text(self.doc["subject"]))
        pdf.set_creator("altoviz-mock")
        pdf.set_lang("fr-FR")
        pdf.set_creation_date(_creation_date(self.doc))
        pdf.add_page()
        self._heading()
        self._lines_table()
        self._summary()
        self._mentions()
        return bytes(pdf.output())

    def _footer_lines(self) -> list[str]:
        c = self.company
        text = _first(c.get("legalMentions"))
        if not text:
            capital = f"au capital de {format_amount(c['capital'])}" if c.get("capital") is not None else None
            identity = " ".join(p for p in (c.get("name"), c.get("legalStatus"), capital) if p)
            parts = [
                identity,
                c.get("registrationNumber"),
                f"SIRET {c['siret']}" if _first(c.get("siret")) else None,
                f"TVA intracommunautaire {c['vatNumber']}" if _first(c.get("vatNumber")) else None,
                f"APE {c['ape']}" if _first(c.get("ape")) else None,
            ]
            text = " – ".join(p for p in parts if _first(p))
        self._font(_FOOTER_FONT)
        lines = [line for line in self.pdf.wrap(_plain(text), _CONTENT_WIDTH) if line] if text else []
        if len(lines) > _FOOTER_MAX_LINES:
            lines = lines[:_FOOTER_MAX_LINES - 1] + [lines[_FOOTER_MAX_LINES - 1].rstrip() + " …"]
        return lines

    def _heading(self):
        c, d, customer = self.company, self.doc, self.customer
        top = _MARGIN

        # Seller, top-left.
        seller = _first(c.get("businessName"), c.get("name"))
        legal_name = None
        if _first(c.get("businessName")) and _first(c.get("name")) and c["name"] != c["businessName"]:
            legal_name = " ".join(p for p in (c.get("name"), c.get("legalStatus")) if p)
        address = c.get("invoicingAddress") if _address_lines(c.get("invoicingAddress")) else c.get("headOfficeAddress")
        contact = c.get("contact") or {}
        rows = [(seller, 13, "B"), (legal_name, 8.5, "")]
        rows += [(line, 8.5, "") for line in _address_lines(address)]
        rows += [
            (f"Tél. : {contact['phone']}" if _first(contact.get("phone")) else None, 8.5, ""),
            (contact.get("email"), 8.5, ""),
            (c.get("website"), 8.5, ""),
            (f"SIRET : {c['siret']}" if _first(c.get("siret")) else None, 8.5, ""),
            (f"N° TVA : {c['vatNumber']}" if _first(c.get("vatNumber")) else None, 8.5, ""),
        ]
        left_bottom = self._block(_MARGIN, top, 95, rows)

        # Title, number and dates, top-right.
        self._font(20, "B")
        self._cell(_RIGHT_X, top, _RIGHT_WIDTH, 9, self.title, align="R")
        y = top + 10
        self._font(11, "B")
        if self.number:
            self._cell(_RIGHT_X, y, _RIGHT_WIDTH, 5.5, f"N° {self.number}", align="R")
            y += 5.5
        if self.is_draft:
            self.pdf.set_text_color(180, 30, 30)
            self._cell(_RIGHT_X, y, _RIGHT_WIDTH, 5.5, "BROUILLON", align="R")
            self.pdf.set_text_color(0, 0, 0)
            y += 5.5
        y += 1
        facts = [("Date", format_date(d.get("date")))]
        if self.kind == "Invoice":
            facts.append(("Échéance", format_date(self._due_date())))
        elif self.kind == "Quote":
            facts.append(("Valable jusqu'au", format_date(d.get("validityDate"))))
        facts += [
            ("Client n°", _first(d.get("customerNumber"), customer.get("number"))),
            ("Votre référence", d.get("customerOrderReference")),
            ("Notre référence", d.get("vendorReference")),
        ]
        self._font(9)
        for label, value in facts:
            if _first(value):
                self._cell(_RIGHT_X, y, _RIGHT_WIDTH, 4.6, f"{label} : {value}", align="R")
                y += 4.6

        # Customer, right, in a frame below the title.
        y = max(left_bottom, y) + 5
        info = customer.get("companyInformations") or {}
        customer_name = _first(
            d.get("customerName"), customer.get("name"), customer.get("companyName"),
            _contact_name({k: customer.get(k) for k in ("title", "firstName", "lastName")}),
        )
        billing = d.get("billingAddress") if _address_lines(d.get("billingAddress")) else customer.get("billingAddress")
        attention = _contact_name(d.get("billingContact"))
        siret = _first(d.get("customerSiret"), info.get("siret"))
        vat_number = _first(d.get("customerVatNumber"), info.get("vatNumber"))
        rows = [(customer_name, 10.5, "B")]
        if attention and attention != customer_name:
            rows.append((f"À l'attention de {attention}", 8.5, ""))
        rows += [(line, 9, "") for line in _address_lines(billing)]
        siren = "".join(str(siret or "").split())[:9] if self.professional else ""
        rows += [
            (f"SIREN : {siren}" if len(siren) == 9 and siren.isdigit() else None, 8.5, ""),
            (f"SIRET : {siret}" if siret else None, 8.5, ""),
            (f"N° TVA : {vat_number}" if vat_number else None, 8.5, ""),
        ]
        frame_x, frame_w = _RIGHT_X - 5, _RIGHT_WIDTH + 5
        self._font(7)
        self.pdf.set_text_color(*_GREY_TEXT)
        self._cell(frame_x, y, frame_w, 3.5, "Client")
        self.pdf.set_text_color(0, 0, 0)
        bottom = self._block(frame_x + 3, y + 5, frame_w - 6, rows)
        self.pdf.set_draw_color(*_RULE)
        self.pdf.rect(frame_x, y + 3.5, frame_w, bottom - y - 1.5)
        self.pdf.set_y(max(bottom, left_bottom) + 6)

        # Subject and references to other documents, then the header notes.
        if _first(d.get("subject")):
            self._paragraph(f"Objet : {_pdf_text(d['subject'])}", size=10, style="B", gap=0)
        if self.kind == "Credit" and _first(d.get("cancelledInvoicetNumber")):
            self._paragraph(_pdf_text(f"Avoir sur facture n° {d['cancelledInvoicetNumber']}"), size=9.5)
        if self.kind == "Invoice" and d.get("isCancelled") and _first(d.get("cancellationCreditNumber")):
            self._paragraph(_pdf_text(f"Facture annulée par l'avoir n° {d['cancellationCreditNumber']}"), size=9.5)
        self._paragraph(_plain(d.get("headerNotes")), size=9)
        self.pdf.set_y(self.pdf.get_y() + 4)

    def _intra_eu(self) -> bool:
        """Whether the customer is in another EU country (the directive's wording, not the CGI's)."""
        if self.doc.get("region") == "EU":
            return True
        billing = self.doc.get("billingAddress") or self.customer.get("billingAddress") or {}
        return str(billing.get("countryIso") or "FR").upper() in _EU_COUNTRIES

    def _due_date(self):
        """`dueDate` when the caller sets it, else the last payment commitment's date."""
        if _first(self.doc.get("dueDate")):
            return self.doc["dueDate"]
        dates = [str(c["date"])[:10] for c in self.doc.get("commitments") or [] if _first(c.get("date"))]
        return max(dates) if dates else None

    # -- lines

    def _columns(self):
        mode = "TTC" if self.tax_included else "HT"
        # "Autoliquidation" in the VAT column needs a wider one.
        description, vat = (63.0, 22.0) if self.reverse_charge else (71.0, 14.0)
        return [
            ("Désignation", description, "L"), ("Qté", 14.0, "R"), ("Unité", 14.0, "C"), (f"PU {mode}", 23.0, "R"),
            ("Remise", 15.0, "R"), ("TVA", vat, "R"), (f"Total {mode}", 29.0, "R"),
        ]

    def _vat_label(self, vat: dict) -> str:
        """A VAT rate as printed: "20 %", or "Autoliquidation" when the customer owes the VAT."""
        if self.reverse_charge:
            return REVERSE_CHARGE
        return format_rate(vat["rate"]) if vat.get("rate") is not None else (vat.get("label") or "")

    def _table_header(self):
        self._font(_TABLE_FONT, "B")
        self.pdf.set_fill_color(*_HEADER_FILL)
        x, y = _MARGIN, self.pdf.get_y()
        height = _TABLE_LINE + 2 * _TABLE_PAD
        for label, width, align in self._columns():
            self.pdf.set_xy(x, y)
            self.pdf.cell(width, height, _pdf_text(label), align=align, fill=True)
            x += width
        self.pdf.set_y(y + height)

    def _row_cells(self, line: dict) -> list[str]:
        price = line.get("taxIncludedPrice" if self.tax_included else "taxExcludedPrice")
        amount = line.get("taxIncludedAmount" if self.tax_included else "taxExcludedAmount")
        unit = line.get("unit") or {}
        discount = line.get("discount") or {}
        discount_text = ""
        if discount.get("value"):
            if discount.get("type") == "Fixed":
                discount_text = format_amount(discount["value"], currency=None)
            else:
                discount_text = format_rate(discount["value"])
        vat_text = self._vat_label(line.get("vat") or {})
        quantity = line.get("quantity")
        return [
            "" if quantity is None else _format_number(quantity),
            _pdf_text(_first(unit.get("code"), unit.get("name")) or ""),
            format_amount(price, currency=None),
            discount_text,
            vat_text,
            format_amount(amount, currency=None),
        ]

    def _lines_table(self):
        pdf = self.pdf
        columns = self._columns()
        desc_width = columns[0][1]
        pad_x = 1.2
        self._table_header()
        header_height = _TABLE_LINE + 2 * _TABLE_PAD
        page_capacity = int((self.pdf.page_break_trigger - _MARGIN - header_height - 2 * _TABLE_PAD + 1e-6) // _TABLE_LINE)
        rows_on_page, fresh_page = 0, False
        for line in self.doc.get("lines") or []:
            if self.cancelled is not None and self.cancelled():
                raise RenderCancelled()
            line_type = line.get("type") or "Product"
            if line_type == "NewPage":
                if rows_on_page:
                    pdf.add_page()
                    self._table_header()
                    rows_on_page, fresh_page = 0, True
                continue
            description = _plain(line.get("description"))
            if _first(line.get("date")):
                description = f"{format_date(line['date'])} – {description}".rstrip(" –")
            style, fill, cells = "", False, None
            if line_type == "Text":
                width = _CONTENT_WIDTH
            elif line_type == "Subtotal":
                style, fill, width = "B", True, _CONTENT_WIDTH - columns[-1][1]
                description = description or "Sous-total"
                amount = line.get("taxIncludedAmount" if self.tax_included else "taxExcludedAmount")
                cells = {len(columns) - 1: format_amount(amount, currency=None)}
            elif line_type == "Empty":
                width, description = _CONTENT_WIDTH, ""
            else:
                width = desc_width
                cells = dict(enumerate(self._row_cells(line), start=1))
            self._font(_TABLE_FONT, style)
            wrapped = pdf.wrap(description, width - 2 * pad_x) or [""]

            first_chunk = True
            while wrapped:
                room = int((pdf.page_break_trigger - pdf.get_y() - 2 * _TABLE_PAD + 1e-6) // _TABLE_LINE)
                if len(wrapped) > room and (room < 1 or (not fresh_page and len(wrapped) <= page_capacity)):
                    # Move the row to a new page; split it only when no page could hold it whole.
                    pdf.add_page()
                    self._table_header()
                    rows_on_page, fresh_page = 0, True
                    continue
                chunk, wrapped = wrapped[:room], wrapped[room:]
                top = pdf.get_y()
                height = len(chunk) * _TABLE_LINE + 2 * _TABLE_PAD
                self._font(_TABLE_FONT, style)
                if fill:
                    pdf.set_fill_color(246, 247, 249)
                    pdf.rect(_MARGIN, top, _CONTENT_WIDTH, height, style="F")
                if line_type == "Text":
                    pdf.set_text_color(60, 60, 60)
                for index, text in enumerate(chunk):
                    align = "R" if line_type == "Subtotal" else "L"
                    self._cell(_MARGIN + pad_x, top + _TABLE_PAD + index * _TABLE_LINE, width - 2 * pad_x,
                               _TABLE_LINE, text, align=align)
                pdf.set_text_color(0, 0, 0)
                if cells and first_chunk:
                    x = _MARGIN
                    for index, (_, col_width, align) in enumerate(columns):
                        if index in cells:
                            self._cell(x, top + _TABLE_PAD, col_width - pad_x if align == "R" else col_width,
                                       _TABLE_LINE, cells[index], align=align)
                        x += col_width
                pdf.set_draw_color(*_RULE)
                pdf.line(_MARGIN, top + height, _MARGIN + _CONTENT_WIDTH, top + height)
                pdf.set_y(top + height)
                rows_on_page += 1
                first_chunk, fresh_page = False, False

    # -- VAT summary and totals, kept together

    def _total_rows(self) -> list[tuple[str, str, bool]]:
        d = self.doc
        rows = []
        discount = d.get("globalDiscount") or {}
        shipping = d.get("shippingAmount")
        has_discount = bool(discount.get("value"))
        if has_discount or shipping:
            if d.get("grossTaxExcludedAmount") is not None:
                rows.append(("Total brut HT", format_amount(d["grossTaxExcludedAmount"]), False))
        if has_discount:
            value = (format_amount(-_decimal(discount["value"])) if discount.get("type") == "Fixed"
                     else "-" + format_rate(discount["value"]))
            rows.append(("Remise globale", value, False))
        if shipping:
            rows.append(("Frais de port", format_amount(shipping), False))
        rows += [
            ("Total HT", format_amount(d.get("taxExcludedAmount") or 0), False),
            ("Total TVA", format_amount(d.get("taxAmount") or 0), False),
            ("Total TTC", format_amount(d.get("taxIncludedAmount") or 0), True),
        ]
        if self.kind == "Invoice":
            total = _decimal(d.get("taxIncludedAmount") or 0)
            balance = _decimal(d["balance"]) if d.get("balance") is not None else total
            if balance != total:
                rows.append(("Déjà réglé", format_amount(total - balance), False))
            rows.append(("Net à payer", format_amount(balance), True))
        elif self.kind == "Quote":
            deposit = d.get("deposit") or {}
            if deposit.get("value"):
                value = (format_amount(deposit["value"]) if deposit.get("type") == "Fixed"
                         else format_rate(deposit["value"]))
                rows.append(("Acompte à la commande", value, False))
        return rows

    def _summary(self):
        pdf = self.pdf
        vats = [v for v in self.doc.get("vats") or [] if v]
        totals = self._total_rows()
        row = 5.5
        height = max((len(vats) + 1) * row if vats else 0, len(totals) * row) + 6
        if pdf.will_page_break(height):
            pdf.add_page()
        top = pdf.get_y() + 5

        if vats:
            widths = (24.0, 34.0, 34.0)
            self._font(8.5, "B")
            pdf.set_fill_color(*_HEADER_FILL)
            x = _MARGIN
            for label, width, align in zip(("Taux", "Base HT", "Montant TVA"), widths, "LRR"):
                self._cell(x, top, width, row, label, align=align, fill=True)
                x += width
            self._font(8.5)
            y = top + row
            for summary in vats:
                rate = self._vat_label(summary.get("vat") or {})
                x = _MARGIN
                for text, width, align in zip(
                    (rate, format_amount(summary.get("taxExcludedAmount")), format_amount(summary.get("vatAmount"))),
                    widths, "LRR",
                ):
                    self._cell(x, y, width, row, text, align=align)
                    x += width
                pdf.set_draw_color(*_RULE)
                pdf.line(_MARGIN, y + row, _MARGIN + sum(widths), y + row)
                y += row

        y = top
        label_width = _RIGHT_WIDTH - 36
        for label, value, strong in totals:
            self._font(9.5 if strong else 9, "B" if strong else "")
            if strong:
                pdf.set_fill_color(*_HEADER_FILL)
            self._cell(_RIGHT_X, y, label_width, row, label, fill=strong)
            self._cell(_RIGHT_X + label_width, y, 36, row, value, align="R", fill=strong)
            y += row
        pdf.set_y(top + height - 1)

    # -- mentions after the totals

    def _mentions(self):
        d = self.doc
        if self.reverse_charge:
            self._paragraph(EU_REVERSE_CHARGE_MENTION if self._intra_eu() else REVERSE_CHARGE_MENTION,
                            size=9, style="B")
        liable = d.get("liableToVat")
        if liable is None:
            liable = self.vat_settings.get("liableToVat")
        if self.kind in ("Invoice", "Credit"):
            types = {line.get("type") or "Product" for line in d.get("lines") or []}
            category = _CATEGORIES.get(frozenset(types & {"Product", "Service"}))
            if category:
                self._paragraph(f"Catégorie de l'opération : {category}", size=8.5)
            mode = d.get("vatMode") if d.get("vatMode") in ("Debit", "Collection") else self.vat_settings.get("vatMode")
            # The option only concerns services: VAT on goods is always due on delivery.
            if mode == "Debit" and "Service" in types and liable is not False and not self.reverse_charge:
                self._paragraph(DEBIT_OPTION_MENTION, size=8.5, gap=0.5)
        if liable is False:
            self._paragraph(_pdf_text(_first(self.vat_settings.get("nonLiableTextToPrint")) or DEFAULT_NON_LIABLE_MENTION),
                            size=9, style="B")
        self._paragraph(_plain(d.get("vatNote")), size=8.5)
        self._paragraph(_plain(d.get("footerNotes")), size=9, gap=3)
        if self.kind == "Invoice":
            due = format_date(self._due_date())
            terms = [f"Date d'échéance : {due}." if due else None]
            if self.professional:
                terms += [self.invoice_settings.get("latePaymentPenalty"), self.invoice_settings.get("collectionCosts")]
            terms = [_plain(t) for t in terms if _first(t)]
            if terms:
                self._paragraph("Conditions de paiement", size=8.5, style="B", gap=4)
                for term in terms:
                    self._paragraph(term, size=8, gap=0.5, line_height=3.6)
        elif self.kind == "Quote":
            self._acceptance_box()

    def _acceptance_box(self):
        pdf = self.pdf
        height = 32
        if pdf.will_page_break(height + 6):
            pdf.add_page()
        top = pdf.get_y() + 6
        self._font(8.5)
        self._cell(_RIGHT_X - 5, top, _RIGHT_WIDTH + 5, 4, "Bon pour accord")
        self._font(7.5)
        pdf.set_text_color(*_GREY_TEXT)
        self._cell(_RIGHT_X - 5, top + 4, _RIGHT_WIDTH + 5, 3.5,
                   "Date, signature et cachet, précédés de la mention « Bon pour accord »")
        pdf.set_text_color(0, 0, 0)
        pdf.set_draw_color(*_RULE)
        pdf.rect(_RIGHT_X - 5, top + 8.5, _RIGHT_WIDTH + 5, height - 10)
        pdf.set_y(top + height)
