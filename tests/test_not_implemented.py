"""Every operation of the contract has a real handler; an operation without one would answer 501."""

import pytest

from mock_server.api.resolver import NotImplementedInSandbox, handler, handler_name
from mock_server.app import load_contract

METHODS = ("get", "post", "put", "patch", "delete")
CONTRACT = load_contract()


def operations() -> list[dict]:
    """Every operation of the contract: method, path, operationId and the resource it belongs to."""
    found = []
    for path, item in CONTRACT["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                segments = path.strip("/").split("/")
                resource = segments[1] if segments[0] == "v1" else segments[0]
                found.append({"method": method, "path": path, "operationId": operation["operationId"], "resource": resource})
    return found


OPERATIONS = operations()


def test_the_contract_is_read_whole():
    assert len(OPERATIONS) == 93
    assert len({op["operationId"] for op in OPERATIONS}) == len(OPERATIONS)
    # The resource of an operation is the same whether read from its path or its operationId.
    assert all(op["operationId"].split("_")[1] == op["resource"] for op in OPERATIONS)


@pytest.mark.parametrize("operation_id", [op["operationId"] for op in OPERATIONS])
def test_every_operation_has_a_real_handler(operation_id):
    found = handler(operation_id)
    assert callable(found)
    assert not getattr(found, "not_implemented", False), f"{operation_id} answers 501"
    module, function = handler_name(operation_id)
    assert (found.__module__, found.__name__) == (module, function)


def test_an_operation_without_a_handler_answers_501():
    found = handler("GET_Nonexistent_List")
    assert found.not_implemented
    with pytest.raises(NotImplementedInSandbox) as raised:
        found()
    assert raised.value.status == 501 and "GET_Nonexistent_List" in raised.value.detail
