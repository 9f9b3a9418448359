"""/v1/Webhooks"""

from ..domain.webhooks import Webhooks
from ._http import domain, present, services, write


def list_():
    return present("Webhook", Webhooks(domain()).list())


def post(body=None):
    return present("Webhook", write(lambda ctx: Webhooks(ctx).create(body or {}))), 201


def delete(id_=None, url=None):
    def unregister(ctx):
        removed = Webhooks(ctx).unregister(id_, url)
        services().webhooks.cancel(ctx.repo, [webhook["id"] for webhook in removed])
        return removed[0]

    return present("Webhook", write(unregister))
