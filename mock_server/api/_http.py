"""What every adapter needs: the calling tenant's domain context, writes that publish their
webhook events, and response shaping."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Callable, TypeVar
from urllib.parse import quote, urlencode

import connexion.context
from connexion.context import context
from connexion.lifecycle import ConnexionResponse
from starlette.requests import Request

from .. import warnings
from ..asgi import RAW_BODY
from ..domain.copies import copy_stored
from ..domain.collection import Collection, Context
from ..domain.kinds import IMAGE_URL, KINDS, PDF_URL
from ..domain.listing import Page
from .presenter import Presenter
from .validation import ABSENT, PARSED_BODY, parse_json

EXTENSION = "altoviz_mock"
T = TypeVar("T")
# The `Services` of the app answering the request: set around each request by `ServicesContext`
# (several apps may live in one process, e.g. in tests), seen by the handlers' threads too.
CURRENT: ContextVar = ContextVar("altoviz_mock_services")


class ServicesContext:
    """ASGI middleware (outermost): the app's `Services` in `CURRENT` while a request is answered."""

    def __init__(self, app, *, services):
        self.app = app
        self.services = services

    async def __call__(self, scope, receive, send):
        token = CURRENT.set(self.services)
        try:
            await self.app(scope, receive, send)
        finally:
            CURRENT.reset(token)


def services():
    """The app's `Services` (set by `create_app`)."""
    return CURRENT.get()


def http_request() -> Request:
    """The request being answered, as Starlette reads Connexion's ASGI scope (headers, query, URL)."""
    return Request(connexion.context.scope, connexion.context.receive)


def request_body() -> bytes:
    """The request's raw body as it was sent, whatever Connexion parsed it into (read whole on the
    event loop by `asgi.BodyDeadline`; empty for a multipart upload, whose files Connexion passes)."""
    return connexion.context.scope.get("extensions", {}).get(RAW_BODY, b"")


def request_document():
    """The request's JSON body as the body validator read and checked it (parsed once: see
    `validation.PARSED_BODY`), as Connexion would pass it: `{}` for an absent body (no body schema
    of the contract is nullable or has a default). A copy of its own on every call, so a handler
    rerun in a thread (offload.py) gets the body as it came."""
    value = parsed_body(connexion.context.scope.get("extensions", {}))
    return {} if value is ABSENT else copy_stored(value)


def parsed_body(extensions: dict):
    """A request's JSON body as the body validator parsed it (`validation.PARSED_BODY`), else
    parsed from the raw body `asgi.BodyDeadline` read; `ABSENT` for an empty one. Not a copy."""
    known = extensions.get(PARSED_BODY)
    return parse_json(extensions.get(RAW_BODY, b"")) if known is None else known[1]


def tenant_id() -> str:
    """The tenant the request's X-API-KEY authenticated (set by the security handler)."""
    return context["user"]


def host_url() -> str:
    """The URL the request reached the sandbox at, e.g. `http://127.0.0.1:8000/`."""
    return str(http_request().base_url)


def domain() -> Context:
    """The domain context of the calling tenant, on the tenant's sandbox clock."""
    s = services()
    return s.tenants.context(tenant_id(), real_clock=s.clock)


def write(operation: Callable[[Context], T]) -> T:
    """Run a write of the calling tenant, `operation(ctx)`, and record the webhook deliveries of the
    events it emitted in the same transaction: they go out once it has committed, never otherwise."""
    ctx = domain()
    with ctx.repo.transaction():
        result = operation(ctx)
        # Under --strict a warning refuses the request: raised inside the transaction, nothing kept.
        warnings.check(ctx.warnings)
        services().webhooks.publish(tenant_id(), ctx, as_returned)
    return result


def empty_answer(status: int = 200, content_type: str = "application/json") -> ConnexionResponse:
    """A body-less answer (the contract documents some 200s so), with the content type response
    validation expects."""
    return ConnexionResponse(status_code=status, content_type=content_type, body=b"")


def present(schema: str, value):
    """Shape `value` (a document or a list of them) as the contract's `schema` describes it."""
    presenter: Presenter = services().presenter
    if isinstance(value, list):
        return [presenter.shape(schema, v) for v in value]
    return presenter.shape(schema, value)


def page_link(index: int) -> str:
    """The request's own URL (path and query, relative, in the contract's spelling) at page `index`."""
    request = http_request()
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "PageIndex"]
    return request.url.path + "?" + urlencode([("PageIndex", index), *query], quote_via=quote)


def paging_headers(page: Page) -> dict[str, str]:
    """The live API's paging headers of a list answer: where the page is, how many pages and records
    there are, and links to the next and previous pages when they exist."""
    headers = {"X-Page-Index": str(page.index), "X-Page-Size": str(page.size),
               "X-Page-Count": str(page.count), "X-Record-Count": str(page.records)}
    if page.index < page.count:
        headers["X-Page-Next"] = page_link(page.index + 1)
    if 1 < page.index <= page.count + 1:
        headers["X-Page-Prev"] = page_link(page.index - 1)
    return headers


def paged(page: Page, body: list):
    """A list operation's answer: `body` (the shaped `page`) with its paging headers."""
    return body, 200, paging_headers(page)


def pdf_url(kind: str, id: int) -> str:
    """Where a document's PDF is served (its `pdfUrl`): relative and lowercase, as live
    (`/v1/saleinvoices/download/7`; the canonical layer reads any case)."""
    return f"/v1/{kind.lower()}/download/{id}"


def image_url(product: dict) -> str | None:
    """Where a product's image is served (its `imageUrl`), from the file the domain keeps under
    `_image`; None when the product has no image."""
    image = product.get("_image")
    return f"{host_url()}_mock/files/{image['fileId']}" if image else None


def with_image_url(product: dict) -> dict:
    # Always set: a stored `imageUrl` (data written by older versions) names the host of its upload.
    return {**product, "imageUrl": image_url(product)}


def with_urls(kind: str, doc: dict) -> dict:
    """A document view of `kind` with the URLs its kind's answers carry (`Kind.urls`), made per
    request from the host the request reached (never stored: the sandbox may be reached under another
    host name or port than when a document was written): a product's `imageUrl`; a document's
    `pdfUrl`, and the `imageUrl` of the products its lines embed."""
    urls = KINDS[kind].urls
    if IMAGE_URL in urls:
        doc = with_image_url(doc)
    if PDF_URL in urls:
        doc = {**doc, "pdfUrl": pdf_url(kind, doc["id"])}
        lines = doc.get("lines")
        if lines and any(isinstance(line, dict) and line.get("product") for line in lines):
            doc["lines"] = [{**line, "product": with_image_url(line["product"])}
                            if isinstance(line, dict) and line.get("product") else line for line in lines]
    return doc


def as_returned(kind: str, doc: dict) -> dict:
    """A document view of an event kind, as `GET /v1/<kind>/{id}` answers it (webhook payloads)."""
    return present(KINDS[kind].schema, with_urls(kind, doc))


@dataclass(frozen=True)
class Resource:
    """The CRUD answers of one resource kind, shaped as its contract schema (`Kind.schema`)."""

    collection: type[Collection]

    @property
    def schema(self) -> str:
        return KINDS[self.collection.kind].schema

    def of_tenant(self) -> Collection:
        return self.collection(domain())

    def present(self, value):
        """Shape one document view or a list of them, with the URLs the kind's answers carry."""
        kind = self.collection.kind
        value = [with_urls(kind, v) for v in value] if isinstance(value, list) else with_urls(kind, value)
        return present(self.schema, value)

    def list(self, **criteria):
        # Shaping builds the answer's objects anew: the page need not be copied first.
        page = self.of_tenant().list(copy=False, **criteria)
        return paged(page, self.present(page))

    def get(self, id: int):
        return self.present(self.of_tenant().get(id))

    def create(self, body: dict):
        return self.present(write(lambda ctx: self.collection(ctx).create(body)))

    def update(self, id: int, body: dict):
        return self.present(write(lambda ctx: self.collection(ctx).update(id, body)))

    def delete(self, id: int):
        write(lambda ctx: self.collection(ctx).delete(id))
        # The contract documents a body-less 200; the content type keeps response validation happy.
        return empty_answer()

    def find(self, **criteria):
        return self.present(self.of_tenant().find(**criteria))

    def get_by(self, field: str, value: str):
        return self.present(self.of_tenant().get_by(field, value))
