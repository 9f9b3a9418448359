"""Derived fields of `AddressFields` (countryName, formattedAddress, inlineAddress)."""

COUNTRY_NAMES = {
    "FR": "France", "BE": "Belgique", "DE": "Allemagne", "ES": "Espagne", "IT": "Italie",
    "LU": "Luxembourg", "NL": "Pays-Bas", "PT": "Portugal", "IE": "Irlande", "AT": "Autriche",
    "CH": "Suisse", "MC": "Monaco", "GB": "Royaume-Uni", "US": "États-Unis", "CA": "Canada",
    "PL": "Pologne", "SE": "Suède", "DK": "Danemark", "FI": "Finlande", "GR": "Grèce",
    "CZ": "Tchéquie", "RO": "Roumanie", "HU": "Hongrie", "MA": "Maroc", "TN": "Tunisie",
    "DZ": "Algérie", "SN": "Sénégal", "GP": "Guadeloupe", "MQ": "Martinique", "RE": "La Réunion",
    "GF": "Guyane", "YT": "Mayotte",
}

WRITABLE = ("street", "zipcode", "city", "countryIso")


def normalize_address(given: dict | None) -> dict | None:
    """Keep the writable address fields and compute the read-only ones, as the API returns them."""
    if given is None:
        return None
    address = {key: given.get(key) for key in WRITABLE}
    iso = (address["countryIso"] or "").upper() or None
    address["countryIso"] = iso
    address["countryName"] = COUNTRY_NAMES.get(iso) if iso else None
    locality = " ".join(p for p in (address["zipcode"], address["city"]) if p)
    lines = [p for p in (address["street"], locality, (address["countryName"] or "").upper() or None) if p]
    address["formattedAddress"] = "\n".join(lines) or None
    inline = [p for p in (address["street"], locality, address["countryName"]) if p]
    address["inlineAddress"] = ", ".join(inline) or None
    return address
