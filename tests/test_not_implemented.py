"""Which operations the sandbox answers with 501, derived from the contract and the resolver.

Only the sale documents, purchase invoices and product images may still answer 501 (they are being
implemented); every other operation of the contract must have a real handler.
"""

import pytest

from mock_server.api.resolver import resolve
from mock_server.app import load_contract

PENDING_RESOURCES = {"SaleInvoices", "SaleCredits", "SaleQuotes", "PurchaseInvoices", "ProductImages"}
METHODS = ("get", "post", "put", "patch", "delete")
CONTRACT = load_contract()


def operations() -> list[dict]:
    """Every operation of the contract: method, path, operationId and the resource it belongs to."""
    found = []
    for path, item in CONTRACT["paths"].items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            segments = path.strip("/").split("/")
            resource = segments[1] if segments[0] == "v1" else segments[0]
            found.append({"method": method, "path": path, "operationId": operation["operationId"],
                          "resource": resource,
                          "parameters": [*item.get("parameters", []), *operation.get("parameters", [])]})
    return found


def answers_501(operation_id: str) -> bool:
    return bool(getattr(resolve(operation_id), "not_implemented", False))


OPERATIONS = operations()


def test_the_contract_is_read_whole():
    assert len(OPERATIONS) == 93
    assert len({op["operationId"] for op in OPERATIONS}) == len(OPERATIONS)
    # The resource of an operation is the same whether read from its path or its operationId.
    assert all(op["operationId"].split("_")[1] == op["resource"] for op in OPERATIONS)
    assert PENDING_RESOURCES <= {op["resource"] for op in OPERATIONS}


@pytest.mark.parametrize("operation_id", [op["operationId"] for op in OPERATIONS if op["resource"] not in PENDING_RESOURCES])
def test_every_operation_outside_the_pending_resources_has_a_real_handler(operation_id):
    handler = resolve(operation_id)
    assert callable(handler)
    assert not answers_501(operation_id), f"{operation_id} answers 501"
    assert handler.__module__.startswith("mock_server.api.")


def test_whatever_still_answers_501_belongs_to_the_pending_resources():
    unimplemented = {op["operationId"]: op["resource"] for op in OPERATIONS if answers_501(op["operationId"])}
    assert {resource for resource in unimplemented.values()} <= PENDING_RESOURCES, unimplemented


def _parameter(parameter: dict) -> dict:
    if "$ref" in parameter:
        return CONTRACT["components"]["parameters"][parameter["$ref"].rsplit("/", 1)[-1]]
    return parameter


def test_an_unimplemented_operation_answers_a_501_problem(client):
    candidates = [op for op in OPERATIONS if answers_501(op["operationId"]) and op["method"] in ("get", "delete")
                  and not any(_parameter(p).get("required") and _parameter(p)["in"] != "path" for p in op["parameters"])]
    if not candidates:
        pytest.skip("every operation without a required body or query is implemented now")
    operation = candidates[0]
    path = operation["path"]
    for parameter in map(_parameter, operation["parameters"]):
        if parameter["in"] == "path":
            path = path.replace("{" + parameter["name"] + "}", "1")

    response = client.request(operation["method"].upper(), path)
    assert response.status_code == 501, (operation["operationId"], response.text)
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["status"] == 501 and body["title"] == "Not Implemented"
    assert {"type", "title", "status", "detail"} <= set(body)
    assert operation["operationId"] in body["detail"]
    assert "Traceback" not in response.text


def test_unimplemented_operations_still_need_a_key(anonymous):
    pending = [op for op in OPERATIONS if answers_501(op["operationId"]) and op["method"] == "get" and "{" not in op["path"]]
    if not pending:
        pytest.skip("every pending list operation is implemented now")
    assert anonymous.get(pending[0]["path"]).status_code == 401
