"""What the three sale-document adapters share: shaping with `pdfUrl` (and the `imageUrl` of the
products the lines embed), and the PDF answer."""

from __future__ import annotations

from .. import pdfs
from ..journal import CLIENT_CLOSED
from ..rendering import cancellation
from ..domain.errors import InvalidRequest
from ..domain.parties import Customers
from ..domain.sales import SaleDocuments
from ..domain.kinds import KINDS
from ._http import domain, empty_answer, paged, pdf_url, present, with_urls, write


class SaleResource:
    """One sale-document kind (`collection`) answered as its contract schema (`Kind.schema`)."""

    def __init__(self, collection: type[SaleDocuments]):
        self.collection = collection
        self.schema = KINDS[collection.kind].schema

    def of_tenant(self) -> SaleDocuments:
        return self.collection(domain())

    def pdf_url(self, id: int) -> str:
        return pdf_url(self.collection.kind, id)

    def present(self, value):
        """Shape one document or a list, each with the URL of its PDF (and its products' images)."""
        if isinstance(value, list):
            return [self.present(v) for v in value]
        return present(self.schema, with_urls(self.collection.kind, value))

    def list(self, **criteria):
        # Shaping builds the answer's objects anew: the page need not be copied first.
        page = self.of_tenant().list(copy=False, **criteria)
        return paged(page, self.present(page))

    # Writes: each one transaction that also records the webhook deliveries of its events.
    def create(self, body: dict | None):
        return self.present(write(lambda ctx: self.collection(ctx).create(body or {})))

    def update(self, id: int, body: dict | None):
        return self.present(write(lambda ctx: self.collection(ctx).update(id, body or {})))

    def delete(self, id: int):
        return self.present(write(lambda ctx: self.collection(ctx).delete(id)))

    def finalize(self, id: int):
        return self.present(write(lambda ctx: self.collection(ctx).finalize(id)))

    def mark_as_paid(self, payment: dict | None):
        return self.present(write(lambda ctx: self.collection(ctx).mark_as_paid(payment or {})))

    def mark_as_refunded(self, refund: dict | None):
        return self.present(write(lambda ctx: self.collection(ctx).mark_as_refunded(refund or {})))

    def send(self, id: int, recipients: list[str] | None):
        return self.present(write(lambda ctx: self.collection(ctx).send(id, recipients)))

    def pdf(self, id: int):
        """The document as `application/pdf`, named after its number."""
        ctx = domain()
        document = self.collection(ctx).get(id)
        customer = None
        if document.get("customerId") is not None:
            customer = ctx.repo.get(Customers.kind, document["customerId"])
        try:
            body = pdfs.render_sale_document(
                self.schema, present(self.schema, document), company=ctx.reference.settings.get("company") or {},
                customer=present("Customer", customer) if customer else None,
                vat_settings=ctx.reference.settings.get("vat"),
                invoice_settings=(ctx.reference.settings.get("sales") or {}).get("invoices"),
                cancelled=cancellation())
        except pdfs.DocumentTooLarge as exc:
            raise InvalidRequest(str(exc)) from None
        except pdfs.RenderCancelled:
            return empty_answer(CLIENT_CLOSED, "application/pdf")  # dropped by FairRenders: the client left
        name = document.get("number") or f"{self.schema}-{id}-brouillon"
        return body, 200, {"Content-Type": "application/pdf", "Content-Disposition": f'inline; filename="{name}.pdf"'}
