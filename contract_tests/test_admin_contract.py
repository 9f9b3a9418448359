"""The admin API under /_mock (mock_server/admin.yaml), fuzzed with every check on (a method a path
does not have included: 405 with an Allow header, as on /v1) against a fresh in-process sandbox of
its own (fault rules and snapshots the fuzzer creates touch no other test)."""

import pytest
import schemathesis

from mock_server.app import create_app
from mock_server.config import DEFAULT_API_KEY, Config
from mock_server.contracts import load_admin_contract


RULE_OPERATIONS = ["POST_Mock_AddFault", "POST_Mock_Seed", "POST_Mock_TriggerWebhook", "POST_Mock_AdvanceClock",
                   "PUT_Mock_Clock", "POST_Mock_Redeliver"]


def admin_config(max_examples: int = 20) -> schemathesis.Config:
    return schemathesis.Config.from_dict({
        "seed": 20261124,
        "generation": {"max-examples": max_examples, "database": "none"},
        "phases": {"stateful": {"enabled": False}},
        "auth": {"openapi": {"ApiKey": {"api_key": DEFAULT_API_KEY}}},
        "operations": [
            # Rules the schema cannot express (which combinations of fault fields go together, an
            # event type, a step past the data set, a clock out of range): a 400 the contract documents.
            *({"include-operation-id": op_id,
               "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "400", "401", "404"]}}}
              for op_id in RULE_OPERATIONS),
            # The built-in receiver answers the status it is asked for (?status=503 to watch retries).
            {"include-operation-id": "POST_Mock_Inbox",
             "checks": {"not_a_server_error": {"enabled": False}, "positive_data_acceptance": {"enabled": False}}},
        ],
    })


@pytest.fixture(scope="module")
def admin_api_schema(tmp_path_factory):
    app = create_app(Config(data_dir=tmp_path_factory.mktemp("admin-contract-data"), validate_responses=True,
                            webhook_workers=0))
    schema = schemathesis.openapi.from_dict(load_admin_contract(), config=admin_config())
    schema.app = app
    yield schema
    app.services.close()


schema = schemathesis.pytest.from_fixture("admin_api_schema")


@schema.parametrize()
def test_admin_api_conforms_to_its_contract(case):
    case.call_and_validate()
