"""Direct dispatch (mock_server/dispatch.py) answers exactly as Connexion's chain does.

The same script of requests goes to two sandboxes built from the same seed on the same frozen
clock, one with direct dispatch and one without; every answer must match: status, content type,
body. The script mixes what direct dispatch answers itself (ordinary reads and writes, errors the
handlers raise) and what it must leave to the chain (bad keys, odd parameter spellings, invalid or
non-JSON bodies, fault rules), so that both halves of its claim are checked.
"""

from __future__ import annotations

import copy
import json
import random

import pytest

from mock_server import dispatch
from mock_server.app import create_app
from mock_server.config import Config

from conftest import KEY

INVOICE = {"customerId": 2, "subject": "Refonte du site", "lines": [
    {"type": "Service", "description": "Maquettes", "quantity": 3, "taxExcludedPrice": 450, "vat": {"rate": 20}},
    {"type": "Product", "description": "Brochures A5", "quantity": 2, "taxExcludedPrice": 89.9, "vat": {"rate": 5.5}}]}

# (method, path, JSON body or raw bytes, extra headers); `{last}` is the id of the last created document.
SCRIPT = [
    ("GET", "/Hello", None, {}),
    ("GET", "/v1/Customers/1", None, {}),
    ("GET", "/v1/Customers/007", None, {}),
    ("GET", "/v1/Customers/+7", None, {}),
    ("GET", "/v1/Customers/-1", None, {}),
    ("GET", "/v1/Customers/2147483648", None, {}),
    ("GET", "/v1/Customers/99999", None, {}),
    ("GET", "/v1/Customers/abc", None, {}),
    ("GET", "/v1/Customers", None, {}),
    ("GET", "/v1/Customers?PageSize=3&PageIndex=2", None, {}),
    ("GET", "/v1/Customers?PageSize=3&PageSize=4", None, {}),
    ("GET", "/v1/Customers?PageSize=", None, {}),
    ("GET", "/v1/Customers?PageSize=x", None, {}),
    ("GET", "/v1/Customers?PageSize=0", None, {}),
    ("GET", "/v1/Customers?Query=Lim%20bourg&Unknown=1", None, {}),
    ("GET", "/v1/Customers?Query=%C3%A9", None, {}),
    ("GET", "/v1/Customers?Query=%FF", None, {}),
    ("GET", "/v1/Customers/Find?Number=C00002", None, {}),
    ("GET", "/v1/Customers/GetByInternalId/CRM-00003", None, {}),
    ("GET", "/v1/Customers/GetByInternalId/contacts", None, {}),
    ("POST", "/v1/Customers", {"companyName": "Ambiguë", "internalId": "contacts"}, {}),
    ("GET", "/v1/Customers/GetByInternalId/contacts", None, {}),
    ("GET", "/v1/Customers/{last}/contacts", None, {}),
    ("GET", "/v1/Customers", None, {"X-API-KEY": "wrong"}),
    ("GET", "/v1/Customers", None, {"X-API-KEY": ""}),
    ("GET", "/v1/SaleInvoices?Status=Paid&From=2026-01-01&To=2026-12-31", None, {}),
    ("GET", "/v1/SaleInvoices?From=2026-02-30", None, {}),
    ("GET", "/v1/SaleInvoices?Status=Nope", None, {}),
    ("GET", "/v1/SaleInvoices?IncludeCancelled=true", None, {}),
    ("GET", "/v1/SaleInvoices?IncludeCancelled=True", None, {}),
    ("POST", "/v1/Customers", {"type": "Business", "companyName": "Atelier Dispatch", "email": "a@dispatch.fr",
                               "billingAddress": {"street": "1 rue Haute", "zipcode": "69002", "city": "Lyon"}}, {}),
    ("PUT", "/v1/Customers/{last}", {"companyName": "Atelier Dispatch et fils"}, {}),
    ("GET", "/v1/Customers/{last}/Contacts", None, {}),
    ("POST", "/v1/Customers", {"type": "Company"}, {}),
    ("POST", "/v1/Customers", {"companyName": "X", "billingAddress": {"zipCode": "1"}}, {}),
    ("POST", "/v1/Customers", b'{"companyName": "X",}', {"Content-Type": "application/json"}),
    ("POST", "/v1/Customers", b'{"companyName": NaN}', {"Content-Type": "application/json"}),
    ("POST", "/v1/Customers", b'null', {"Content-Type": "application/json"}),
    ("POST", "/v1/Customers", b'', {"Content-Type": "application/json"}),
    ("POST", "/v1/Customers", b'{"companyName": "X"}', {"Content-Type": "text/plain"}),
    ("POST", "/v1/Customers", b'{"companyName": "\xff"}', {"Content-Type": "application/json"}),
    ("POST", "/v1/Customers", b'{"companyName": "Y"}', {"Content-Type": "application/json; charset=utf-8"}),
    ("POST", "/v1/SaleInvoices", INVOICE, {}),
    ("POST", "/v1/SaleInvoices/Finalize/{last}", None, {}),
    ("POST", "/v1/SaleInvoices/Finalize/{last}", None, {}),
    ("POST", "/v1/SaleInvoices/MarkAsPaid", {"invoiceId": "{last}", "amount": 100, "paymentMethod": "Transfer"}, {}),
    ("POST", "/v1/SaleInvoices/MarkAsPaid", {"invoiceId": "{last}", "amount": 99999}, {}),
    ("GET", "/v1/SaleInvoices/{last}", None, {}),
    ("POST", "/v1/SaleInvoices", {**INVOICE, "lines": [{**INVOICE["lines"][0], "quantity": -1e300}]}, {}),
    ("POST", "/v1/SaleInvoices", {**INVOICE, "customerId": 99999}, {}),
    ("POST", "/v1/SaleInvoices", {**INVOICE, "date": "2026-02-30"}, {}),
    ("POST", "/v1/Products", {"name": "Tampon encreur", "number": "P-DISP", "unitPrice": 12.5}, {}),
    ("DELETE", "/v1/Products/{last}", None, {}),
    ("DELETE", "/v1/Products/{last}", None, {}),
    ("POST", "/v1/Webhooks", {"name": "hook", "url": "http://127.0.0.1:9/hook", "types": ["InvoiceCreated"]}, {}),
    ("GET", "/v1/Webhooks", None, {}),
    ("HEAD", "/v1/Customers/1", None, {}),
    ("PATCH", "/v1/Customers/1", {"companyName": "Z"}, {}),
    ("GET", "/v1/Nowhere", None, {}),
    ("POST", "/_mock/faults", {"pathPattern": "/v1/Customers/1", "status": 503}, {}),
    ("GET", "/v1/Customers/1", None, {}),
    ("DELETE", "/_mock/faults", None, {}),
    ("GET", "/v1/Customers/1", None, {}),
]


def _run(tmp_path, direct: bool) -> tuple[list, int]:
    calls = []
    original = dispatch.DirectDispatch._call

    def counted(self, *args, **kwargs):
        calls.append(args[0].operation_id)
        return original(self, *args, **kwargs)

    app = create_app(Config(data_dir=tmp_path / ("direct" if direct else "chain"), validate_responses=True,
                            direct_dispatch=direct))
    answers, last = [], None
    try:
        with pytest.MonkeyPatch.context() as patch, app.test_client(headers={"X-API-KEY": KEY}) as client:
            patch.setattr(dispatch.DirectDispatch, "_call", counted)
            assert client.put("/_mock/clock", json={"now": "2026-03-10T09:30:00Z", "frozen": True}).status_code == 200
            for method, path, body, headers in SCRIPT:
                path = path.replace("{last}", str(last))
                kwargs: dict = {"headers": headers}
                if isinstance(body, bytes):
                    kwargs["content"] = body
                elif body is not None:
                    kwargs["json"] = json.loads(json.dumps(body).replace('"{last}"', str(last)))
                answer = client.request(method, path, **kwargs)
                text = answer.text
                try:
                    parsed = answer.json() if text else None
                except ValueError:
                    parsed = text
                if answer.status_code in (200, 201) and isinstance(parsed, dict) and "id" in parsed:
                    last = parsed["id"]
                answers.append((method, path, answer.status_code, answer.headers.get("content-type"),
                                answer.headers.get("allow"), answer.headers.get("retry-after"), parsed))
    finally:
        app.app.extensions["altoviz_mock"].close()
    return answers, calls


def test_direct_dispatch_answers_as_the_chain_does(tmp_path):
    direct, handled = _run(tmp_path, direct=True)
    chain, none = _run(tmp_path, direct=False)
    assert none == []
    for mine, theirs in zip(direct, chain):
        assert mine == theirs
    assert len(direct) == len(chain) == len(SCRIPT)
    # It did answer most of the script itself, reads, writes and handler errors alike...
    assert {"GET_Customers_Get", "GET_Customers_List", "POST_Customers_Post", "PUT_Customers_Update",
            "POST_SaleInvoices_Post", "POST_SaleInvoices_Finalize", "POST_SaleInvoices_MarkAsPaid",
            "DELETE_Products_Delete", "POST_Webhooks_Post", "GET_Hello_Get"} <= set(handled)
    # ...and left the refusals to the chain: no request the chain refuses before the handler reached it.
    statuses = [answer[2] for answer in direct]
    assert len(handled) < len(SCRIPT) - statuses.count(401) - statuses.count(415)


def test_a_request_left_to_the_chain_keeps_its_body(tmp_path, monkeypatch):
    """A body read by direct dispatch, whose request then goes down the chain (here: while a fault
    rule is set, even one for another path), reaches the handler whole."""
    monkeypatch.setattr(dispatch.DirectDispatch, "_call", None)  # would fail if it answered
    app = create_app(Config(data_dir=tmp_path, validate_responses=True))
    try:
        with app.test_client(headers={"X-API-KEY": KEY}) as client:
            assert client.post("/_mock/faults", json={"pathPattern": "/v1/Products*", "latencyMs": 1}).status_code == 201
            name = "Société Générale d'Éclairage " + "x" * 100_000
            created = client.post("/v1/Customers", json={"companyName": name})
            assert created.status_code == 200, created.text
            assert created.json()["companyName"] == name
            assert client.get(f"/v1/Customers/{created.json()['id']}").json()["companyName"] == name
    finally:
        app.app.extensions["altoviz_mock"].close()


def _bodies(schema: dict, rng: random.Random, depth: int = 0):
    """Request-body-like values: mostly well-formed, with wrong types, nulls, unknown keys, bad
    dates and out-of-range integers mixed in."""
    roll = rng.random()
    if roll < 0.06:
        return None
    if roll < 0.1:
        return rng.choice(["x", 1, 1.5, True, [], {}, 2**31, "2026-02-30", "2026-03-10"])
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        out = {name: _bodies(sub, rng, depth + 1) for name, sub in schema.get("properties", {}).items()
               if rng.random() < (0.5 if depth < 3 else 0.1)}
        if rng.random() < 0.05:
            out["unknownField"] = 1
        return out
    if kind == "array":
        return [_bodies(schema.get("items", {}), rng, depth + 1) for _ in range(rng.randint(0, 2))]
    if "enum" in schema:
        return rng.choice(schema["enum"] + ["NotAValue"])
    if kind == "integer":
        return rng.choice([0, 7, -3, 2**31 - 1, 2**31, True, 1.0])
    if kind == "number":
        return rng.choice([0, 2.5, -1, 10**12, False, "3"])
    if kind == "boolean":
        return rng.choice([True, False, 0])
    if schema.get("format") == "date":
        return rng.choice(["2026-03-10", "2026-02-30", "10/03/2026", "2026-3-1"])
    if schema.get("format") == "date-time":
        return rng.choice(["2026-03-10T09:30:00Z", "2026-03-10 09:30", "nope"])
    return rng.choice(["Atelier", "", "a@b.fr", 3])


def test_the_compiled_body_check_never_accepts_what_jsonschema_refuses():
    """Direct dispatch checks bodies with `compiled_check`; a body it accepts skips Connexion's
    validator, so it must accept only bodies that validator accepts (here: it agrees both ways)."""
    from connexion.json_schema import Draft4RequestValidator, resolve_refs

    from mock_server.api.validation import FORMATS, compiled_check
    from mock_server.contracts import load_contract

    spec = resolve_refs(copy.deepcopy(load_contract()))
    checked = 0
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            content = (operation.get("requestBody") or {}).get("content", {}) if isinstance(operation, dict) else {}
            if "application/json" not in content:
                continue
            schema = content["application/json"]["schema"]
            fast = compiled_check(schema)
            assert fast is not None, f"{method} {path}: the body schema is not compiled"
            reference = Draft4RequestValidator(schema, format_checker=FORMATS)
            rng = random.Random(f"{method} {path}")
            for _ in range(300):
                body = _bodies(schema, rng)
                assert fast(body) == reference.is_valid(body), (method, path, body)
                checked += 1
    assert checked >= 300 * 20
