"""/v1/Colleagues"""

from ..domain.parties import Colleagues
from ._http import Resource, request_document

colleagues = Resource(Colleagues)


def list_(page_index=None, page_size=None, order_by=None, query=None):
    return colleagues.list(query=query, order_by=order_by, page_index=page_index, page_size=page_size)


def post():
    body = request_document()
    return colleagues.create(body)


def find(email=None, internal_id=None, number=None):
    return colleagues.find(email=email, internalId=internal_id, number=number)


def get_by_internal_id(internal_id):
    return colleagues.get_by("internalId", internal_id)


def get(id_):
    return colleagues.get(id_)


def update(id_):
    body = request_document()
    return colleagues.update(id_, body)


def delete(id_):
    return colleagues.delete(id_)
