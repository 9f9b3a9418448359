"""Every error the API answers, named once, with its HTTP status (moto's exceptions.py).

Business-rule messages are French, as the live API's (`{"errors": null, "message": "..."}`);
structural validation (api/validation.py) and a record's 404 are English, as live too.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Noun:
    """A kind's French name, as the business-rule messages need it: `the` ("la facture",
    "l'avoir"), `The`, `of_the` ("du devis"), `it` (the object pronoun: "la", "le") and `e` (an agreeing past
    participle's ending: "finalisé" + e)."""

    word: str
    feminine: bool = False

    @property
    def the(self) -> str:
        if self.word[:1].lower() in "aeiouéèêh":
            return "l'" + self.word
        return ("la " if self.feminine else "le ") + self.word

    @property
    def The(self) -> str:  # noqa: N802 - the capitalised form, as a sentence starts
        return self.the[:1].upper() + self.the[1:]

    @property
    def of_the(self) -> str:
        """"de la facture", "de l'avoir", "du devis"."""
        the = self.the
        return "du " + the[3:] if the.startswith("le ") else "de " + the

    @property
    def it(self) -> str:
        return "la" if self.feminine else "le"

    @property
    def e(self) -> str:
        return "e" if self.feminine else ""


# How French messages name the field a resource was looked up by.
FRENCH_FIELDS = {"id": "l'ID", "number": "le numéro", "internalId": "l'identifiant interne", "email": "l'e-mail",
                 "code": "le code"}


class DomainError(Exception):
    """An error the client caused; rendered by the HTTP layer with `status` and `title`."""

    status = 400
    title = "Bad Request"

    def __init__(self, detail: str, errors: list[str] | None = None):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or [detail]


class InvalidRequest(DomainError):
    """Input the schema accepts but a business rule refuses (unknown VAT rate, bad reference...)."""


class WrongState(DomainError):
    """The resource exists but its state forbids the operation (e.g. updating a finalized invoice)."""


class Conflict(DomainError):
    """The operation would break what other resources rely on (deleting a family still in use)."""

    status = 409
    title = "Conflict"


# How a 404's message names the field a record was looked up by: the live API's "ID" for an id
# (captured live: "Customer with ID 1 not found."), the same style for the sandbox's other lookups.
LOOKUP_NAMES = {"id": "ID", "internalId": "internal ID", "url": "URL", "productId": "product ID"}


class NotFound(DomainError):
    """No resource of that kind with that id (or internal id, url...) in the caller's tenant,
    worded as live: "Customer with ID 1 not found.", "Customer with internal ID CRM-9 not found."."""

    status = 404
    title = "Not Found"

    def __init__(self, kind: str, key: object, field: str = "id"):
        super().__init__(f"{kind} with {LOOKUP_NAMES.get(field, field)} {key} not found.")
        self.kind = kind
        self.key = key


class PayloadTooLarge(DomainError):
    """An upload over the sandbox's size limit for its kind."""

    status = 413
    title = "Content Too Large"
