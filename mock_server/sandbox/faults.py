"""Fault injection: rules per tenant that slow down or fail the sandbox's /v1 and /Hello answers.

A rule matches by `operationId` (the contract's) or `pathPattern` (a glob on the request path, e.g.
`/v1/Customers*`), optionally by `method`; it adds `latencyMs`, and/or answers `status` (400-599)
with `body` (a ProblemDetails by default), `retryAfter` seconds with 429 (Retry-After header).
`probability` (0-1, drawn from a per-rule random.Random seeded with `seed`) and `count` (fires that
many times, then expires) bound when it fires. The first matching rule that fires with a status
answers; latencies of every firing rule add up.

`FaultInjection` applies them: an ASGI middleware of Connexion's chain placed after routing,
security and validation, so the operationId and the authenticated tenant are in the ASGI scope. It
awaits the latency on the event loop (other requests, other tenants, go on meanwhile) and costs a
tenant without rules one dict lookup.
"""

from __future__ import annotations

import asyncio
import fnmatch
import itertools
import json
import random
import threading

from connexion.middleware.abstract import ROUTING_CONTEXT

from ..contracts import admin_schema


def rule_schema() -> dict:
    """admin.yaml's `FaultRuleRequest`: the one description of a rule's fields, their types and
    bounds (Connexion checks a rule against it before `Faults.add` sees it)."""
    return admin_schema("FaultRuleRequest")["properties"]


class FaultError(ValueError):
    """An invalid fault rule: a combination of fields the schema cannot rule out."""


class Faults:
    def __init__(self):
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._rules: dict[str, list[dict]] = {}
        self._random: dict[int, random.Random] = {}

    def of(self, tenant: str) -> bool:
        """True if `tenant` has rules (one dict lookup, no lock: a stale answer only delays a new
        rule by one request)."""
        return tenant in self._rules

    def add(self, tenant: str, body: dict) -> dict:
        """A new rule from `body`, a `FaultRuleRequest` as admin.yaml describes it (types, bounds,
        the method's enum, no unknown field: validated); the rules across fields are checked here."""
        op, pattern = body.get("operationId"), body.get("pathPattern")
        if (op is None) == (pattern is None):
            raise FaultError('Give one of "operationId" or "pathPattern"')
        method, latency, status = body.get("method"), body.get("latencyMs"), body.get("status")
        retry_after, count, seed = body.get("retryAfter"), body.get("count"), body.get("seed")
        probability = body.get("probability", rule_schema()["probability"]["default"])
        if retry_after is not None and status != 429:
            raise FaultError('"retryAfter" goes with "status": 429')
        if "body" in body and status is None:
            raise FaultError('"body" goes with "status"')
        if latency is None and status is None:
            raise FaultError('Give "latencyMs", "status" or both')
        with self._lock:
            rule = {"id": next(self._ids), "operationId": op, "pathPattern": pattern,
                    "method": method, "latencyMs": latency, "status": status,
                    "body": body.get("body"), "retryAfter": retry_after if status == 429 else None,
                    "probability": probability, "count": count, "remaining": count, "seed": seed, "fired": 0}
            self._random[rule["id"]] = random.Random(seed)
            self._rules.setdefault(tenant, []).append(rule)
            return dict(rule)

    def list(self, tenant: str) -> list[dict]:
        with self._lock:
            return [dict(rule) for rule in self._rules.get(tenant, [])]

    def delete(self, tenant: str, rule_id: int) -> bool:
        with self._lock:
            rules = self._rules.get(tenant, [])
            kept = [r for r in rules if r["id"] != rule_id]
            if len(kept) == len(rules):
                return False
            self._store(tenant, kept)
            return True

    def clear(self, tenant: str) -> int:
        with self._lock:
            return len(self._rules.pop(tenant, []))

    def _store(self, tenant: str, rules: list[dict]) -> None:
        if rules:
            self._rules[tenant] = rules
        else:
            self._rules.pop(tenant, None)

    def _firing(self, tenant: str, method: str, path: str, op: str | None) -> list[dict]:
        fired = []
        with self._lock:
            rules = self._rules.get(tenant, [])
            for rule in rules:
                if rule["method"] and rule["method"] != method:
                    continue
                if rule["pathPattern"] is not None:
                    if not fnmatch.fnmatchcase(path, rule["pathPattern"]):
                        continue
                elif rule["operationId"] != op:
                    continue
                if rule["probability"] < 1 and not self._random[rule["id"]].random() < rule["probability"]:
                    continue
                rule["fired"] += 1
                if rule["remaining"] is not None:
                    rule["remaining"] -= 1
                fired.append(dict(rule))
            self._store(tenant, [r for r in rules if r["remaining"] is None or r["remaining"] > 0])
        return fired

    def fired(self, tenant: str, method: str, path: str, operation_id: str | None) -> tuple[float, dict | None]:
        """The rules of `tenant` that fire for this request, counted as fired: the seconds to wait
        (all their latencies) and the rule answering in place of the handler, if one has a status."""
        fired = self._firing(tenant, method, path, operation_id)
        # Each rule's latency is bounded by the schema; so is their sum.
        latency = min(sum(r["latencyMs"] or 0 for r in fired), rule_schema()["latencyMs"]["maximum"]) / 1000
        return latency, next((r for r in fired if r["status"] is not None), None)


def _answer(rule: dict) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """The status, headers and body the fault `rule` answers with."""
    status, body = rule["status"], rule["body"]
    if body is None:
        body = {"type": "about:blank", "title": "Injected fault", "status": status,
                "detail": f"Answered by sandbox fault rule {rule['id']}"}
    if isinstance(body, str):
        content_type, payload = b"text/plain; charset=utf-8", body.encode("utf-8")
    else:
        content_type, payload = b"application/json", json.dumps(body, ensure_ascii=False).encode("utf-8")
    headers = [(b"content-type", content_type), (b"content-length", str(len(payload)).encode()),
               (b"x-mock-fault", str(rule["id"]).encode())]
    if status == 429:
        retry_after = rule["retryAfter"] if rule["retryAfter"] is not None else 1
        headers.append((b"retry-after", str(retry_after).encode()))
    return status, headers, payload


def _faulted_path(path: str) -> bool:
    # The API's requests only: the sandbox's own controls (/_mock) must work whatever the rules.
    return path.startswith("/v1/") or path == "/v1" or path == "/Hello"


class FaultInjection:
    """ASGI middleware (in front of Connexion's `ContextMiddleware`: app.py)
    applying the calling tenant's fault rules to /v1 and /Hello."""

    def __init__(self, app, *, rules: Faults, tenants):
        self.app = app
        self.rules = rules
        self.tenants = tenants

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        extensions = scope.get("extensions", {})
        # Set by Connexion's security middleware from what auth.py's check returned.
        tenant = extensions.get("connexion_context", {}).get("user")
        if tenant is None or not self.rules.of(tenant) or not _faulted_path(scope["path"]):
            return await self.app(scope, receive, send)
        operation_id = extensions.get(ROUTING_CONTEXT, {}).get("operation_id")
        latency, failing = self.rules.fired(tenant, scope["method"], scope["path"], operation_id)
        if latency:
            await asyncio.sleep(latency)
        if failing is None:
            return await self.app(scope, receive, send)
        status, headers, payload = _answer(failing)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})


