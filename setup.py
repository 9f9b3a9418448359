"""What pyproject.toml cannot say: the data-set builder in the top-level `fixtures/` folder installs
as `altoviz_mock_fixtures`, so that installing the sandbox never shadows PyPI's `fixtures` package.
Every other package is found by name (`mock_server*`, `contract_tests*`)."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["mock_server", "mock_server.*", "contract_tests", "contract_tests.*"]),
              "altoviz_mock_fixtures"],
    package_dir={"altoviz_mock_fixtures": "fixtures"},
)
