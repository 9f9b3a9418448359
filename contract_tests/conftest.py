"""Fixtures of the contract suites."""

import pytest

from .mock_mode import mock_schema


@pytest.fixture(scope="session")
def mock_api_schema(tmp_path_factory):
    schema, app = mock_schema(tmp_path_factory.mktemp("contract-data"))
    yield schema
    app.app.extensions["altoviz_mock"].close()
