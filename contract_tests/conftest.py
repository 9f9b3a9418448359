"""Fixtures of the contract suites."""

import os

import pytest

from .mock_mode import mock_schema

# Examples generated per operation (and per phase) by the mock-mode suite. `make test` keeps it
# small enough for CI on a busy 2-core machine; raise it for a deeper run:
# `ALTOVIZ_MOCK_CONTRACT_EXAMPLES=100 make test`.
MAX_EXAMPLES = int(os.environ.get("ALTOVIZ_MOCK_CONTRACT_EXAMPLES", "30"))


@pytest.fixture(scope="session")
def mock_api_schema(tmp_path_factory):
    schema, app = mock_schema(tmp_path_factory.mktemp("contract-data"), max_examples=MAX_EXAMPLES)
    yield schema
    app.services.close()
