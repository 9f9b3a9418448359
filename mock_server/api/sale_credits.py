"""/v1/SaleCredits"""

from ..domain.sales import SaleCredits
from ._http import request_document
from ._sales import SaleResource

credits = SaleResource(SaleCredits)


def list_(page_index=None, page_size=None, order_by=None, from_=None, to=None, customer_id=None):
    return credits.list(order_by=order_by, page_index=page_index, page_size=page_size, date_from=from_,
                        date_to=to, customer_id=customer_id)


def post():
    body = request_document()
    return credits.create(body)


def get(id_):
    return credits.present(credits.of_tenant().get(id_))


def put(id_):
    body = request_document()
    return credits.update(id_, body)


def delete(id_):
    return credits.delete(id_)


def find(number=None, internal_id=None):
    return credits.present(credits.of_tenant().find(number=number, internalId=internal_id))


def finalize(id_):
    return credits.finalize(id_)


def download(id_):
    return credits.pdf(id_)


def send(id_):
    body = request_document()
    credits.send(id_, body)
    return None, 200


def mark_as_refunded():
    body = request_document()
    return credits.mark_as_refunded(body)
