"""/v1/Products"""

from ..domain.catalog import Products
from ._http import Resource, request_document

products = Resource(Products)


def list_(page_index=None, page_size=None, order_by=None, query=None, family_id=None):
    return products.list(query=query, order_by=order_by, page_index=page_index, page_size=page_size,
                         family_id=family_id)


def post():
    body = request_document()
    return products.create(body)


def find(number=None, internal_id=None):
    return products.find(number=number, internalId=internal_id)


def get(id_):
    return products.get(id_)


def update(id_):
    body = request_document()
    return products.update(id_, body)


def delete(id_):
    return products.delete(id_)
