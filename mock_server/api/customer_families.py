"""/v1/CustomerFamilies"""

from ..domain.parties import CustomerFamilies
from ._http import Resource, request_document

families = Resource(CustomerFamilies)


def list_(page_index=None, page_size=None, order_by=None, query=None):
    return families.list(query=query, order_by=order_by, page_index=page_index, page_size=page_size)


def post():
    body = request_document()
    return families.create(body)


def find(number=None, internal_id=None):
    return families.find(number=number, internalId=internal_id)


def get(id_):
    return families.get(id_)


def delete(id_):
    return families.delete(id_)
