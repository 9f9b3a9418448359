"""Mock mode: the contract suite runs against the sandbox app in-process (no network)."""

from __future__ import annotations

from typing import Sequence

import schemathesis

from mock_server.api.resolver import resolve
from mock_server.app import create_app, load_contract
from mock_server.config import DEFAULT_API_KEY, Config

# The mock mode's Hypothesis seed: the same draws, the same requests, run after run.
SEED = 20261124

# Operations where a schema-valid request may still be a 400, as the contract documents: a rule
# the schema cannot express (a VAT rate or customer that does not exist, a file that is not a
# PDF) or a state that forbids the operation (finalizing twice, paying a draft, deleting a
# customer that has invoices). Every other operation must accept every schema-valid request.
FIND_OPERATIONS = [op["operationId"] for item in load_contract()["paths"].values() for op in item.values()
                   if isinstance(op, dict) and op.get("operationId", "").endswith("_Find")]
BUSINESS_RULE_OPERATIONS = [
    "POST_Products_Post", "PUT_Products_Update", "DELETE_Customers_Delete",
    "POST_SaleInvoices_Post", "PUT_SaleInvoices_Put", "DELETE_SaleInvoices_Delete", "POST_SaleInvoices_Finalize",
    "POST_SaleInvoices_MarkAsPaid", "POST_SaleInvoices_Send",
    "POST_SaleCredits_Post", "PUT_SaleCredits_Put", "DELETE_SaleCredits_Delete", "POST_SaleCredits_Finalize",
    "POST_SaleCredits_Send",
    "POST_SaleQuotes_Post", "DELETE_SaleQuotes_Delete",
    "POST_ProductImages_Post", "POST_PurchaseInvoices_CreateFromFile",
    # A webhook URL must be an absolute http(s) URL; unregistering needs an id or a url.
    "POST_Webhooks_Post", "DELETE_Webhooks_Delete",
    # A receipt's links must name finalized documents with a balance left, within the receipt's
    # amount; refunds follow the payment rules; a quote is sent to valid addresses.
    "POST_Receipts_Post", "PUT_Receipts_Update", "POST_SaleCredits_MarkAsRefunded", "POST_SaleQuotes_Send",
]
# The same, for the sandbox: a Find needs at least one criterion (each parameter is optional, one
# is not; the live API too, contract_tests/live.py); a family still used is not deleted (409); a
# customer's family must exist (by id or number). The live-mode suite leaves the last two out, so
# that a stand-in's new required field on those operations is still reported.
SANDBOX_RULE_OPERATIONS = [*BUSINESS_RULE_OPERATIONS, *FIND_OPERATIONS, "DELETE_CustomerFamilies_Delete",
                           "DELETE_ProductFamilies_Delete", "POST_Customers_Post", "PUT_Customers_Update"]


def _json_body_operations() -> list[str]:
    """The operations that take a JSON body."""
    spec = load_contract()
    bodies = spec["components"].get("requestBodies", {})
    found = []
    for item in spec["paths"].values():
        for op in item.values():
            if not isinstance(op, dict) or "operationId" not in op:
                continue
            body = op.get("requestBody", {})
            if "$ref" in body:
                body = bodies[body["$ref"].rsplit("/", 1)[-1]]
            if "application/json" in body.get("content", {}):
                found.append(op["operationId"])
    return found


# The live API binds bodies as ASP.NET does (canonical.py): unknown properties are ignored, `""`
# in a nullable field is null, numbers may come as strings. The contract keeps its closed,
# exact schemas (so that drift in the answers is seen), so Schemathesis's negative bodies built
# that way are accepted by design there; tests/test_live_parity.py checks this binding and
# tests/test_errors_and_auth.py and test_reliability.py the bodies that are refused.
LIVE_BINDING_OPERATIONS = _json_body_operations()


def implemented_operation_ids() -> list[str]:
    """operationIds the sandbox implements (those still answering 501 are left to later suites)."""
    ids = []
    for item in load_contract()["paths"].values():
        for op in item.values():
            if isinstance(op, dict) and "operationId" in op:
                if not getattr(resolve(op["operationId"]), "not_implemented", False):
                    ids.append(op["operationId"])
    return ids


def mock_mode_config(max_examples: int = 30, operations: Sequence[dict] = ()) -> schemathesis.Config:
    """Every check on, a fixed seed and a bounded budget, authenticated with the default key.

    The state machine follows only the contract's own links (no inferred ones), so what it
    exercises is what the contract documents. `operations`: further per-operation settings.
    """
    return schemathesis.Config.from_dict({
        "seed": SEED,
        "generation": {"max-examples": max_examples, "database": "none"},
        "phases": {"stateful": {"inference": {"algorithms": []}}},
        "auth": {"openapi": {"ApiKey": {"api_key": DEFAULT_API_KEY}}},
        "operations": [{
            "include-operation-id": op_id,
            "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "400", "401", "404", "409"]}},
        } for op_id in SANDBOX_RULE_OPERATIONS] + [{
            "include-operation-id": op_id,
            "checks": {"negative_data_rejection": {"enabled": False}},
        } for op_id in LIVE_BINDING_OPERATIONS] + list(operations),
    })


def mock_schema(data_dir, max_examples: int = 30, operations: Sequence[dict] = ()):
    """The contract bound to a fresh in-process sandbox app (response validation on)."""
    # No webhook delivery workers: the webhooks the suite registers have made-up URLs, and tests
    # send nothing beyond 127.0.0.1 (deliveries are still recorded, as pending).
    app = create_app(Config(data_dir=data_dir, validate_responses=True, webhook_workers=0))
    schema = schemathesis.openapi.from_dict(load_contract(), config=mock_mode_config(max_examples, operations))
    schema.app = app
    return schema, app
