"""Map the contract's operationIds to handler functions, so the contract itself names no code.

`GET_Customers_GetByInternalId` → `mock_server.api.customers.get_by_internal_id`: the resource
part names the module (snake case), the action part the function (snake case, with a trailing
underscore where it would shadow a builtin, e.g. `list_`). Operations a later part of the sandbox
implements answer 501 until then.
"""

from __future__ import annotations

import builtins
import importlib
import re

from connexion.resolver import Resolver
from starlette.responses import Response

from ..contracts import operation_responses
from ..domain.errors import DomainError
from ..offload import inline_first

PACKAGE = "mock_server.api"


class NotImplementedInSandbox(DomainError):
    """The operation is in the contract but the sandbox does not implement it yet."""

    status = 501
    title = "Not Implemented"


def snake(name: str) -> str:
    """`GetByInternalId` → `get_by_internal_id`, `SaleInvoices` → `sale_invoices`."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def handler_name(operation_id: str) -> tuple[str, str]:
    """The (module, function) an operationId maps to."""
    _method, resource, action = operation_id.split("_", 2)
    function = snake(action)
    if hasattr(builtins, function):
        function += "_"
    return f"{PACKAGE}.{snake(resource)}", function


def not_implemented(operation_id: str):
    """A handler that answers 501 for an operation the sandbox does not implement yet."""

    def handler(*_args, **_kwargs):
        raise NotImplementedInSandbox(f"{operation_id} is not implemented by the sandbox yet")

    handler.__name__ = f"not_implemented_{operation_id}"
    handler.not_implemented = True
    return handler


def handler(operation_id: str):
    """The handler function of `operation_id`, or a 501 handler."""
    module_name, function = handler_name(operation_id)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        return not_implemented(operation_id)
    return getattr(module, function, None) or not_implemented(operation_id)


def resolve(operation_id: str, answer=None):
    """What Connexion calls for `operation_id`: its handler, run on the event loop unless one of
    its steps would wait (`offload.inline_first`), its plain answers sent by `answer` if given."""
    return inline_first(handler(operation_id), answer=answer)


def json_only(spec: dict) -> set[str]:
    """The operationIds whose every documented response is JSON or has no body (Connexion's
    `produces` for them is `application/json` alone)."""
    types: dict[str, set[str]] = {}
    for operation_id, _, response in operation_responses(spec):
        types.setdefault(operation_id, set()).update(response.get("content", {}))
    return {operation_id for operation_id, found in types.items() if found <= {"application/json"}}


def json_answer(jsonifier):
    """A handler's plain dict or list as Connexion's response decorator would send it for an
    operation that answers JSON only: 200, `application/json`, the body written by the app's
    jsonifier. Connexion passes a framework (Starlette) response on as it is, which spares its
    unpacking, content-type inference and header work: about 3 % of a write's CPU in process
    (docs/benchmarks.md)."""
    dumps = jsonifier.dumps

    def answer(value) -> Response:
        return Response(dumps(value), media_type="application/json")

    return answer


class OperationResolver(Resolver):
    """Connexion resolver using `resolve`; given the contract and the app's jsonifier, the plain
    answers of its JSON-only operations go out as `json_answer` builds them."""

    def __init__(self, spec: dict | None = None, jsonifier=None):
        plain = json_only(spec) if spec is not None and jsonifier is not None else set()
        answer = json_answer(jsonifier) if plain else None
        super().__init__(function_resolver=lambda operation_id: resolve(
            operation_id, answer if operation_id in plain else None))
