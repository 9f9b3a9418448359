"""Webhook registrations: which URL wants which event types of the tenant (delivery is `events.py`'s).

Rules the sandbox applies (documented in the README):
- `name` and `url` are non-empty, `types` are `WebhookType`s (the contract checks these), and the
  URL must be an absolute http(s) URL with a host: anything else is a 400.
- Several registrations may share a URL. Unregistering by `url` removes every registration of
  that URL and answers the oldest; by `id` (which wins when both are given) exactly that one.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from .collection import Collection
from .errors import InvalidRequest, NotFound, Noun
from .kinds import TYPES


def check_url(url) -> str:
    """`url` if it is an absolute http(s) URL with a host, else InvalidRequest saying why."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidRequest("url est obligatoire : l'URL absolue http(s) où les événements sont postés.")
    if url != url.strip() or any(c.isspace() for c in url):
        raise InvalidRequest(f"url ne doit pas contenir d'espaces : {url!r}.")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
    except ValueError as exc:
        raise InvalidRequest(f"url n'est pas une URL valide ({exc}) : {url!r}.") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidRequest(f"url doit être une URL absolue http:// ou https://, reçu {url!r}.")
    return url


class Webhooks(Collection):
    """The tenant's webhook registrations."""

    kind = "Webhooks"
    label = "Webhook"
    noun = Noun("webhook")

    def prepare(self, data: dict, current: dict | None) -> dict:
        name = data.get("name")
        if not isinstance(name, str) or not name:
            raise InvalidRequest("name est obligatoire.")
        types = data.get("types")
        if not isinstance(types, list):
            raise InvalidRequest("types est obligatoire : une liste de WebhookType.")
        unknown = [t for t in types if t not in TYPES]
        if unknown:
            raise InvalidRequest(f"Types de webhook inconnus : {', '.join(map(str, unknown))}.")
        secret = data.get("secretKey")
        if secret is not None and not isinstance(secret, str):
            raise InvalidRequest("secretKey doit être une chaîne de caractères.")
        return {"name": name, "url": check_url(data.get("url")), "types": list(dict.fromkeys(types)),
                "secretKey": secret or None}

    def list(self, **_criteria) -> list[dict]:
        """Every registration, oldest first (no paging: the contract has none here)."""
        return self.repo.all(self.kind)

    def subscribed(self, type: str) -> list[dict]:
        """The registrations that want events of `type`."""
        return [w for w in self.repo.all(self.kind) if type in (w.get("types") or ())]

    def unregister(self, id: int | None = None, url: str | None = None) -> list[dict]:
        """Remove the registration `id`, or every registration of `url`; those removed, oldest first."""
        if id is None and not url:
            raise InvalidRequest("Donnez l'id ou l'url du webhook.")
        with self.repo.transaction():
            if id is not None:
                return [self.delete(id)]
            found = self.repo.find(self.kind, url=url)
            if not found:
                raise NotFound(self.label, url, "url")
            for doc in found:
                self.repo.delete(self.kind, doc["id"])
        return found
