"""Every implemented operation of the contract, fuzzed with every check on: zero failures."""

import schemathesis

from .mock_mode import implemented_operation_ids

schema = schemathesis.pytest.from_fixture("mock_api_schema").include(operation_id=implemented_operation_ids())


@schema.parametrize()
def test_mock_conforms_to_the_contract(case):
    case.call_and_validate()
