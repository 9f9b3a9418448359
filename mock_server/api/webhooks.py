"""/v1/Webhooks"""

from ..domain.webhooks import Webhooks
from ._http import domain, present, request_document, services, write


def list_():
    return present("Webhook", Webhooks(domain()).list())


def post():
    body = request_document()
    # The live API answers the registration with `id: 0` (captured live): the real id is only in
    # GET /v1/Webhooks, so a client must list to find it (by url or name).
    registered = present("Webhook", write(lambda ctx: Webhooks(ctx).create(body or {})))
    return {**registered, "id": 0}, 201


def delete(id_=None, url=None):
    def unregister(ctx):
        removed = Webhooks(ctx).unregister(id_, url)
        services().webhooks.cancel(ctx.repo, [webhook["id"] for webhook in removed])
        return removed[0]

    return present("Webhook", write(unregister))
