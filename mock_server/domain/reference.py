"""Read-only reference data (VAT rates, units, classifications, settings, user) and lookups into it."""

import unicodedata
from dataclasses import dataclass, field

from .addresses import normalize_address
from .copies import deep_copy
from .errors import InvalidRequest

DEFAULT_REGION = "FR"


def _fold(text: str) -> str:
    """`text` without case or accents, for searches: "Société" matches "societe"."""
    decomposed = unicodedata.normalize("NFKD", str(text))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


@dataclass(frozen=True)
class ReferenceData:
    """The reference tables every tenant shares; documents are deep-copied on the way out."""

    vats: list[dict]
    units: list[dict]
    classifications: list[dict]
    settings: dict
    user: dict
    bank_providers: list[dict] = field(default_factory=list)
    _vat_by_id: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "_vat_by_id", {v["id"]: v for v in self.vats})
        company = self.settings.get("company") or {}
        for key in ("headOfficeAddress", "invoicingAddress"):
            if company.get(key) is not None:
                company[key] = normalize_address(company[key])
        contact = company.get("contact")
        if contact is not None:
            # Read-only derived names, computed as for any contact (see parties.Contacts).
            names = [contact.get("firstName"), contact.get("lastName")]
            display = " ".join(p for p in names if p) or contact.get("companyName") or contact.get("email")
            contact["displayName"] = display
            contact["invertedDisplayName"] = " ".join(p for p in reversed(names) if p) or display

    def default_vat(self, region: str | None = None) -> dict:
        """The default VAT of a region (FR 20 % unless said otherwise)."""
        region = region or DEFAULT_REGION
        return deep_copy(next(v for v in self.vats if v["region"] == region and v["default"]))

    def resolve_vat(self, given: dict | None, region: str | None = None) -> dict:
        """Turn a client's `Vat` ({id} or {rate[, region]}) into the full reference VAT, or refuse it."""
        if not given or (given.get("id") is None and given.get("rate") is None):
            return self.default_vat(given.get("region") if given else region)
        if given.get("id") is not None:
            vat = self._vat_by_id.get(given["id"])
            if vat is None:
                raise InvalidRequest(f"La TVA d'id {given['id']} n'existe pas ; voir GET /v1/Vats.")
            return deep_copy(vat)
        wanted_region = given.get("region") or region or DEFAULT_REGION
        for vat in self.vats:
            if vat["region"] == wanted_region and float(vat["rate"]) == float(given["rate"]):
                return deep_copy(vat)
        known = ", ".join(f"{v['rate']:g}" for v in self.vats if v["region"] == wanted_region)
        raise InvalidRequest(f"Le taux de TVA {given['rate']:g} n'existe pas dans la région {wanted_region} (taux connus : {known}).")

    def resolve_unit(self, given: dict | None) -> dict | None:
        """Turn a client's `Unit` ({id} or {code}) into the reference unit; None when none is given."""
        if not given or (given.get("id") is None and not given.get("code")):
            return None
        for unit in self.units:
            if given.get("id") is not None and unit["id"] == given["id"]:
                return deep_copy(unit)
            if given.get("id") is None and unit["code"].casefold() == str(given["code"]).casefold():
                return deep_copy(unit)
        key = f"l'id {given['id']}" if given.get("id") is not None else f"le code {given['code']!r}"
        known = ", ".join(u["code"] for u in self.units)
        raise InvalidRequest(f"L'unité avec {key} n'existe pas (codes connus : {known}).")

    def search_bank_providers(self, query: str | None = None) -> list[dict]:
        """Bank account providers whose name, id, country or market contains `query` (accents and case ignored)."""
        wanted = _fold(query or "")
        found = [p for p in self.bank_providers
                 if not wanted or any(wanted in _fold(v) for v in (p["name"], p["id"], *p["countryCodes"], *p["markets"]))]
        return deep_copy(found)

    def list_classifications(self, type_: str | None = None) -> list[dict]:
        """Classifications, optionally only those of one `ClassificationType`."""
        return [deep_copy(c) for c in self.classifications if type_ is None or c["type"] == type_]
