"""/v1/SaleInvoices"""

from ..domain.sales import SaleInvoices
from ._http import request_document
from ._sales import SaleResource

invoices = SaleResource(SaleInvoices)


def list_(page_index=None, page_size=None, order_by=None, from_=None, to=None, customer_id=None, status=None,
          include_cancelled=None):
    return invoices.list(order_by=order_by, page_index=page_index, page_size=page_size, date_from=from_,
                         date_to=to, customer_id=customer_id, status=status, include_cancelled=bool(include_cancelled))


def post():
    body = request_document()
    return invoices.create(body)


def get(id_):
    return invoices.present(invoices.of_tenant().get(id_))


def put(id_):
    body = request_document()
    return invoices.update(id_, body)


def delete(id_):
    return invoices.delete(id_)


def find(number=None, internal_id=None):
    return invoices.present(invoices.of_tenant().find(number=number, internalId=internal_id))


def finalize(id_):
    return invoices.finalize(id_)


def mark_as_paid():
    body = request_document()
    return invoices.mark_as_paid(body)


def download(id_):
    return invoices.pdf(id_)


def send(id_):
    body = request_document()
    invoices.send(id_, body)
    return None, 200
