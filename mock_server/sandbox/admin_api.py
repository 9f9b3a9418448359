"""The admin API under /_mock as Connexion serves it from `admin.yaml`: the handler of each of its
operationIds, and `add_admin_api` (called by `create_app`).

Connexion routes each request to its operation (a method a path does not have answers 405 with an
`Allow` header, as on /v1), checks the X-API-KEY with the same security handler as /v1 (auth.py,
the app's `security_map`) where admin.yaml asks for it, validates the parameters and JSON bodies
against admin.yaml with the same validators as /v1 (the app's `validator_map`, api/validation.py:
the one strict JSON parser, formats, ranges, enums, patterns, unknown fields), passes the validated
values to the handlers as keyword arguments, validates the answers with `validate_responses`, and
renders its refusals like /v1's (api/problems.py reads admin.yaml too). A schema's refusal is
worded from the schema (`problems.admin_wording`: `"size" must be an integer from 0 to 700` rather
than jsonschema's `701 is greater than the maximum of 700`).

The handlers check only what a schema cannot say (which fields go together, a clock out of its
range, a snapshot that does not exist...) and answer it as a `ControlError` ProblemDetails. The
Schemathesis suite of admin.yaml (contract_tests/test_admin_contract.py) checks that the two agree.
"""

from __future__ import annotations

import copy

from connexion.options import SwaggerUIOptions
from connexion.resolver import Resolver

from . import admin, controls, requests, seeding, webhooks
from ..contracts import load_admin_contract
from .controls import ControlError, _problem

BASE_PATH = "/_mock"

HANDLERS = {
    "GET_Mock_Health": controls.health,
    "GET_Mock_Renders": controls.renders,
    "POST_Mock_Reset": admin.reset,
    "POST_Mock_Seed": seeding.seed,
    "GET_Mock_Tenants": admin.tenants,
    "GET_Mock_Snapshots": admin.list_snapshots,
    "POST_Mock_SaveSnapshot": admin.save_snapshot,
    "DELETE_Mock_DeleteSnapshot": admin.delete_snapshot,
    "POST_Mock_RestoreSnapshot": admin.restore_snapshot,
    "GET_Mock_Clock": controls.get_clock,
    "PUT_Mock_Clock": controls.set_clock,
    "POST_Mock_AdvanceClock": controls.advance_clock,
    "GET_Mock_Outbox": controls.outbox,
    "GET_Mock_File": controls.file,
    "GET_Mock_WebhookDeliveries": webhooks.deliveries,
    "GET_Mock_WebhookPending": webhooks.pending,
    "POST_Mock_Redeliver": webhooks.redeliver,
    "POST_Mock_TriggerWebhook": webhooks.trigger,
    "GET_Mock_WebhookFaults": webhooks.get_webhook_faults,
    "PUT_Mock_WebhookFaults": webhooks.set_webhook_faults,
    "DELETE_Mock_WebhookFaults": webhooks.clear_webhook_faults,
    "POST_Mock_Inbox": webhooks.receive,
    "GET_Mock_Inbox": webhooks.inbox,
    "DELETE_Mock_Inbox": webhooks.empty_inbox,
    "GET_Mock_Faults": admin.list_faults,
    "POST_Mock_AddFault": admin.add_fault,
    "DELETE_Mock_ClearFaults": admin.clear_faults,
    "DELETE_Mock_DeleteFault": admin.delete_fault,
    "GET_Mock_Requests": requests.list_requests,
    "GET_Mock_RequestCount": requests.count_requests,
    "DELETE_Mock_Requests": requests.delete_requests,
    "GET_Mock_RequestsHar": requests.export_har,
}
"""Each operationId of admin.yaml → its handler."""


def resolve(operation_id: str):
    try:
        return HANDLERS[operation_id]
    except KeyError:
        # Connexion's Resolver turns this into a ResolverError: the app does not start.
        raise ValueError(f"admin.yaml's {operation_id} has no handler in mock_server.sandbox.admin_api") from None


class AdminResolver(Resolver):
    """Connexion resolver of the admin API's operationIds (`HANDLERS`)."""

    def __init__(self):
        super().__init__(function_resolver=resolve)


# The admin API's contract and Swagger UI are `admin.admin_pages` (pages of the Flask app beside), not Connexion's.
NO_SWAGGER_UI = SwaggerUIOptions(serve_spec=False, swagger_ui=False)


def add_admin_api(app, *, validate_responses: bool) -> None:
    """Serve admin.yaml's operations at /_mock on a Connexion app (its pages are `admin.admin_pages`).

    Added before an API mounted at the root: Connexion's router tries the APIs in order, and the
    root one would take /_mock paths for its own (unrouted, so a wrong method would not be a 405).
    """
    # Connexion resolves $refs in place: give it its own copy.
    app.add_api(copy.deepcopy(load_admin_contract()), base_path=BASE_PATH, name="mock_admin",
                resolver=AdminResolver(), strict_validation=False,
                validate_responses=validate_responses, swagger_ui_options=NO_SWAGGER_UI)
    app.add_error_handler(ControlError, _problem)
