"""/v1/Receipts"""

from ..domain.receipts import Receipts
from ._http import Resource, request_document

receipts = Resource(Receipts)


def list_(page_index=None, page_size=None, order_by=None, query=None):
    return receipts.list(query=query, order_by=order_by, page_index=page_index, page_size=page_size)


def post():
    body = request_document()
    return receipts.create(body)


def find(internal_id=None):
    return receipts.find(internalId=internal_id)


def get(id_):
    return receipts.get(id_)


def update(id_):
    body = request_document()
    return receipts.update(id_, body)


def delete(id_):
    return receipts.delete(id_)
