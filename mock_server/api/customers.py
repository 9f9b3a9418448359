"""/v1/Customers"""

from ..domain.parties import Customers
from ._http import Resource, present, request_document

customers = Resource(Customers)


def list_(page_index=None, page_size=None, order_by=None, query=None):
    return customers.list(query=query, order_by=order_by, page_index=page_index, page_size=page_size)


def post():
    body = request_document()
    return customers.create(body)


def find(email=None, internal_id=None, number=None):
    return customers.find(email=email, internalId=internal_id, number=number)


def get_by_internal_id(internal_id):
    return customers.get_by("internalId", internal_id)


def get(id_):
    return customers.get(id_)


def update(id_):
    body = request_document()
    return customers.update(id_, body)


def delete(id_):
    return customers.delete(id_)


def get_contacts(id_):
    return present("ThirdContact", customers.of_tenant().contacts(id_))
