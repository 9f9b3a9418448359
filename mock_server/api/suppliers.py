"""/v1/Suppliers"""

from ..domain.parties import Suppliers
from ._http import Resource, present, request_document

suppliers = Resource(Suppliers)


def list_(page_index=None, page_size=None, order_by=None, query=None):
    return suppliers.list(query=query, order_by=order_by, page_index=page_index, page_size=page_size)


def post():
    body = request_document()
    return suppliers.create(body)


def find(email=None, internal_id=None):
    return suppliers.find(email=email, internalId=internal_id)


def get_by_internal_id(internal_id):
    return suppliers.get_by("internalId", internal_id)


def get(id_):
    return suppliers.get(id_)


def update(id_):
    body = request_document()
    return suppliers.update(id_, body)


def delete(id_):
    return suppliers.delete(id_)


def get_contacts(id_):
    return present("ThirdContact", suppliers.of_tenant().contacts(id_))
