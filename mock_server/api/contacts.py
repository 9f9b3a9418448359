"""/v1/Contacts"""

from ..domain.parties import Contacts
from ._http import Resource, request_document

contacts = Resource(Contacts)


def list_(page_index=None, page_size=None, order_by=None, query=None):
    return contacts.list(query=query, order_by=order_by, page_index=page_index, page_size=page_size)


def post():
    body = request_document()
    return contacts.create(body)


def find(email=None, internal_id=None):
    return contacts.find(email=email, internalId=internal_id)


def get(id_):
    return contacts.get(id_)


def update(id_):
    body = request_document()
    return contacts.update(id_, body)


def delete(id_):
    return contacts.delete(id_)
