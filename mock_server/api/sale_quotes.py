"""/v1/SaleQuotes"""

from ..domain.sales import SaleQuotes
from ._http import request_document
from ._sales import SaleResource

quotes = SaleResource(SaleQuotes)


def list_(page_index=None, page_size=None, order_by=None, from_=None, to=None, customer_id=None, **nested):
    # The vendor also publishes the filter under `Status.` and `Status.Status.` prefixes: any of them works.
    return quotes.list(
        order_by=order_by, page_index=page_index, page_size=page_size,
        date_from=from_ or nested.get("statusfrom") or nested.get("statusstatusfrom"),
        date_to=to or nested.get("statusto") or nested.get("statusstatusto"),
        customer_id=next((c for c in (customer_id, nested.get("statuscustomer_id"), nested.get("statusstatuscustomer_id"))
                          if c is not None), None),
        status=nested.get("statusstatusstatus"))


def post():
    body = request_document()
    return quotes.create(body)


def get(id_):
    return quotes.present(quotes.of_tenant().get(id_))


def delete(id_):
    return quotes.delete(id_)


def find(number=None, internal_id=None):
    return quotes.present(quotes.of_tenant().find(number=number, internalId=internal_id))


def download(id_):
    return quotes.pdf(id_)


def send(id_):
    body = request_document()
    quotes.send(id_, body)
    return None, 200
