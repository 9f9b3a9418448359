"""Purchase invoices created from an uploaded PDF (the sandbox does not read the PDF's content)."""

from __future__ import annotations

from .collection import Collection
from .errors import Noun


class PurchaseInvoices(Collection):
    """Expenses received from suppliers; the uploaded file is their document."""

    kind = "PurchaseInvoices"
    label = "Purchase invoice"
    noun = Noun("facture d'achat", feminine=True)

    def create_from_file(self, file_id: str, file_name: str | None) -> dict:
        """A pending purchase invoice for an uploaded PDF, dated today."""
        stem = (file_name or "").rsplit("/", 1)[-1].rsplit(".", 1)[0] or None
        return self.create({"date": self.ctx.today().isoformat(), "status": "Pending", "reference": stem,
                            "subject": file_name, "taxIncludedAmount": 0, "vatReverseCharge": False,
                            "region": "FR", "notes": None, "_fileId": file_id})

    def file_id(self, id: int) -> str:
        return self.load(id)["_fileId"]
