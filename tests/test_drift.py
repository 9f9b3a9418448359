"""The spec diff (`altoviz-mock drift`), the shape comparison behind both drift reports, and the
baseline/report formats: small hand-written spec pairs, one kind of change at a time."""

from __future__ import annotations

import copy
import datetime as dt
import functools
import http.server
import json
import re
import threading
from pathlib import Path
from xml.etree import ElementTree

import pytest
import yaml

from contract_tests.drift import diff_specs, load_spec, operations_of
from contract_tests.report import (BaselineError, Finding, OperationOutcome, Report, apply_baseline, baseline_for,
                                   load_baseline, to_junit, to_markdown, write_reports)
from contract_tests.shapes import Resolver, instance_diff
from mock_server.app import load_contract
from mock_server.cli import main

REPO = Path(__file__).resolve().parents[1]


def _base() -> dict:
    customer_ref = {"$ref": "#/components/schemas/Customer"}
    return {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/v1/Customers": {
                "get": {
                    "operationId": "GET_Customers_List",
                    "parameters": [
                        {"name": "PageIndex", "in": "query", "schema": {"type": "integer", "format": "int32"}},
                        {"name": "query", "in": "query", "schema": {"type": "string"}},
                    ],
                    "responses": {
                        "200": {"description": "ok", "content": {"application/json": {
                            "schema": {"type": "array", "items": customer_ref}}}},
                        "401": {"description": "no key"},
                    },
                },
                "post": {
                    "operationId": "POST_Customers_Post",
                    "requestBody": {"required": True, "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/NewCustomer"}}}},
                    "responses": {
                        "200": {"description": "ok", "content": {"application/json": {"schema": customer_ref}}},
                        "400": {"description": "bad"},
                    },
                },
            },
            "/v1/Customers/{id}": {
                "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                "get": {
                    "operationId": "GET_Customers_Get",
                    "responses": {
                        "200": {"description": "ok", "content": {"application/json": {"schema": customer_ref}}},
                        "404": {"description": "none"},
                    },
                },
            },
        },
        "components": {"schemas": {
            "Customer": {
                "type": "object", "additionalProperties": False, "required": ["id"],
                "properties": {
                    "id": {"type": "integer", "format": "int32"},
                    "companyName": {"type": "string", "nullable": True},
                    "type": {"$ref": "#/components/schemas/CustomerType"},
                    "billingAddress": {"allOf": [{"$ref": "#/components/schemas/Address"}], "nullable": True},
                },
            },
            "NewCustomer": {
                "type": "object",
                "properties": {"companyName": {"type": "string"}, "type": {"$ref": "#/components/schemas/CustomerType"}},
            },
            "CustomerType": {"type": "string", "enum": ["Business", "Consumer"]},
            "Address": {"type": "object", "additionalProperties": False,
                        "properties": {"city": {"type": "string"}, "zipcode": {"type": "string"}}},
        }},
    }


def _changed(change) -> list[Finding]:
    published = copy.deepcopy(_base())
    change(published)
    return diff_specs(_base(), published)


def _schemas(spec):
    return spec["components"]["schemas"]


def _op(spec, path, method):
    return spec["paths"][path][method]


# (what the published spec changes, the operation, the check, a regex the detail matches)
CHANGES = {
    "operation added": (
        lambda s: s["paths"].update({"/v1/Colleagues": {"get": {"operationId": "GET_Colleagues_List",
                                                                 "responses": {"200": {"description": "ok"}}}}}),
        "GET /v1/Colleagues", "operation-added", r"only in the published spec"),
    "operation removed": (
        lambda s: s["paths"]["/v1/Customers"].pop("post"),
        "POST /v1/Customers", "operation-removed", r"only in the contract"),
    "operation moved (same operationId)": (
        lambda s: s["paths"].update({"/v1/Clients/{id}": s["paths"].pop("/v1/Customers/{id}")}),
        "GET /v1/Customers/{id}", "operation-moved", r"^path /v1/Customers/\{id\} → /v1/Clients/\{id\}$"),
    "operationId changed": (
        lambda s: _op(s, "/v1/Customers", "get").update(operationId="GET_Customers_All"),
        "GET /v1/Customers", "operation-id-changed", r"^operationId GET_Customers_List → GET_Customers_All$"),
    "required parameter added": (
        lambda s: _op(s, "/v1/Customers", "get")["parameters"].append(
            {"name": "email", "in": "query", "required": True, "schema": {"type": "string"}}),
        "GET /v1/Customers", "parameter-added", r"^query parameter email: added \(required\)$"),
    "parameter removed": (
        lambda s: _op(s, "/v1/Customers", "get")["parameters"].pop(1),
        "GET /v1/Customers", "parameter-removed", r"^query parameter query: removed$"),
    "parameter now required": (
        lambda s: _op(s, "/v1/Customers", "get")["parameters"][1].update(required=True),
        "GET /v1/Customers", "parameter-now-required", r"^query parameter query: now required$"),
    "parameter type changed": (
        lambda s: _op(s, "/v1/Customers", "get")["parameters"][0].update(schema={"type": "string"}),
        "GET /v1/Customers", "parameter-type-changed", r"^query parameter PageIndex: integer → string$"),
    "path parameter renamed": (
        lambda s: s["paths"].update({"/v1/Customers/{customerId}": {
            **s["paths"].pop("/v1/Customers/{id}"),
            "parameters": [{"name": "customerId", "in": "path", "required": True, "schema": {"type": "integer"}}]}}),
        "GET /v1/Customers/{id}", "parameter-renamed", r"^path parameter id renamed to customerId$"),
    "request body no longer required": (
        lambda s: _op(s, "/v1/Customers", "post")["requestBody"].update(required=False),
        "POST /v1/Customers", "request-body-no-longer-required", r"^request body no longer required$"),
    "request body removed": (
        lambda s: _op(s, "/v1/Customers", "post").pop("requestBody"),
        "POST /v1/Customers", "request-body-removed", r"^request body removed$"),
    "new required request field": (
        lambda s: _schemas(s)["NewCustomer"].update(
            required=["email"], properties={**_schemas(s)["NewCustomer"]["properties"], "email": {"type": "string"}}),
        "POST /v1/Customers", "request-field-now-required", r"^body \$\.email: now required$"),
    "request field added": (
        lambda s: _schemas(s)["NewCustomer"]["properties"].update(siret={"type": "string"}),
        "POST /v1/Customers", "request-field-added", r"^body \$\.siret: field added$"),
    "request media types": (
        lambda s: _op(s, "/v1/Customers", "post")["requestBody"]["content"].update(
            {"text/json": {"schema": {"$ref": "#/components/schemas/NewCustomer"}}}),
        "POST /v1/Customers", "request-media-types", r"^body: published spec adds text/json$"),
    "response field renamed": (
        lambda s: _schemas(s)["Customer"]["properties"].update(
            company_name=_schemas(s)["Customer"]["properties"].pop("companyName")),
        "GET /v1/Customers", "response-field-renamed", r"^200 \$\[\*\]: field companyName renamed to company_name$"),
    "response field removed": (
        lambda s: _schemas(s)["Customer"]["properties"].pop("type"),
        "GET /v1/Customers/{id}", "response-field-removed", r"^200 \$\.type: field removed$"),
    "response field type changed": (
        lambda s: _schemas(s)["Customer"]["properties"].update(id={"type": "string"}),
        "GET /v1/Customers", "response-type-changed", r"^200 \$\[\*\]\.id: integer → string$"),
    "response field format changed": (
        lambda s: _schemas(s)["Customer"]["properties"]["id"].update(format="int64"),
        "GET /v1/Customers/{id}", "response-format-changed", r"^200 \$\.id: format int32 → int64$"),
    "enum value added (through a $ref)": (
        lambda s: _schemas(s)["CustomerType"]["enum"].append("Government"),
        "GET /v1/Customers", "response-enum-values-added", r"^200 \$\[\*\]\.type: enum values added: Government$"),
    "enum value removed": (
        lambda s: _schemas(s)["CustomerType"]["enum"].remove("Consumer"),
        "POST /v1/Customers", "request-enum-values-removed", r"^body \$\.type: enum values removed: Consumer$"),
    "nullability changed": (
        lambda s: _schemas(s)["Customer"]["properties"]["companyName"].pop("nullable"),
        "GET /v1/Customers/{id}", "response-nullability-changed", r"^200 \$\.companyName: nullable → not nullable$"),
    "response field now required": (
        lambda s: _schemas(s)["Customer"]["required"].append("companyName"),
        "GET /v1/Customers/{id}", "response-field-now-required", r"^200 \$\.companyName: now required$"),
    "nested field renamed (nullable allOf $ref)": (
        lambda s: _schemas(s)["Address"]["properties"].update(
            zip_code=_schemas(s)["Address"]["properties"].pop("zipcode")),
        "GET /v1/Customers", "response-field-renamed",
        r"^200 \$\[\*\]\.billingAddress: field zipcode renamed to zip_code$"),
    "status code added": (
        lambda s: _op(s, "/v1/Customers/{id}", "get")["responses"].update({"429": {"description": "slow down"}}),
        "GET /v1/Customers/{id}", "response-status-added", r"^status 429 added$"),
    "status code removed": (
        lambda s: _op(s, "/v1/Customers/{id}", "get")["responses"].pop("404"),
        "GET /v1/Customers/{id}", "response-status-removed", r"^status 404 removed$"),
    "response content type changed": (
        lambda s: _op(s, "/v1/Customers/{id}", "get")["responses"]["200"].update(
            content={"text/plain": {"schema": {"type": "string"}}}),
        "GET /v1/Customers/{id}", "response-media-types",
        r"^200: published spec adds text/plain; drops application/json$"),
}


@pytest.mark.parametrize("name", list(CHANGES))
def test_each_kind_of_change_is_reported_on_its_operation(name):
    change, operation, check, detail = CHANGES[name]
    findings = _changed(change)
    matching = [f for f in findings if f.operation == operation and f.check == check and re.search(detail, f.detail)]
    assert matching, f"{name}: expected {operation} {check} ~ {detail}; got " + "; ".join(
        f"{f.operation} {f.check}: {f.detail}" for f in findings)


def test_a_change_in_a_shared_component_is_reported_on_every_operation_using_it():
    findings = _changed(lambda s: _schemas(s)["CustomerType"]["enum"].append("Government"))
    assert {(f.operation, f.check) for f in findings} == {
        ("GET /v1/Customers", "response-enum-values-added"),
        ("POST /v1/Customers", "request-enum-values-added"),
        ("POST /v1/Customers", "response-enum-values-added"),
        ("GET /v1/Customers/{id}", "response-enum-values-added"),
    }
    assert all(f.expected == "[Business, Consumer]" and f.actual == "[Business, Consumer, Government]"
               for f in findings)


def test_identical_specs_and_the_contract_against_itself_differ_in_nothing():
    assert diff_specs(_base(), _base()) == []
    contract = load_contract()
    assert diff_specs(contract, copy.deepcopy(contract)) == []


def test_recursive_schemas_are_compared_without_looping():
    def recursive(spec, extra=None):
        _schemas(spec)["Node"] = {"type": "object", "properties": {
            "name": {"type": "string"}, "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}},
            **(extra or {})}}
        _op(spec, "/v1/Customers/{id}", "get")["responses"]["200"]["content"]["application/json"]["schema"] = \
            {"$ref": "#/components/schemas/Node"}
    old, new = _base(), _base()
    recursive(old)
    recursive(new, {"depth": {"type": "integer"}})
    findings = diff_specs(old, new)
    assert [(f.check, f.detail) for f in findings] == [("response-field-added", "200 $.depth: field added")]


# ---------------------------------------------------------------------------- instance vs schema

def _instance(value, schema_name="Customer"):
    spec = _base()
    return instance_diff({"$ref": f"#/components/schemas/{schema_name}"}, value, Resolver(spec))


def test_instance_diff_names_each_kind_of_departure():
    ok = {"id": 1, "companyName": None, "type": "Business", "billingAddress": None}
    assert _instance(ok) == []
    assert [(c.kind, c.detail) for c in _instance({"id": 1, "company_name": "ACME"})] == [
        ("field renamed", "$: field companyName renamed to company_name")]
    assert [(c.kind, c.detail) for c in _instance({"id": 1, "legacyCode": "X"})] == [
        ("field added", "$.legacyCode: undocumented field")]
    assert [(c.kind, c.detail) for c in _instance({"companyName": "ACME"})] == [
        ("field missing", "$.id: required field missing")]
    assert [(c.kind, c.detail, c.expected) for c in _instance({"id": "12"})] == [
        ("type changed", "$.id: string, not integer", "integer (int32)")]
    assert [(c.kind, c.detail) for c in _instance({"id": 1, "type": "Association"})] == [
        ("enum value", '$.type: value "Association" is not in the enum')]
    assert [(c.kind, c.detail) for c in _instance({"id": None})] == [
        ("nullability changed", "$.id: null, but the contract does not allow null")]
    nested = _instance({"id": 1, "billingAddress": {"city": "Lyon", "zipCode": "69002"}})
    assert [(c.kind, c.detail) for c in nested] == [
        ("field renamed", "$.billingAddress: field zipcode renamed to zipCode")]
    unrelated = _instance({"id": 1, "billingAddress": {"town": "Lyon"}})  # not alike: an addition, not a rename
    assert [(c.kind, c.detail) for c in unrelated] == [("field added", "$.billingAddress.town: undocumented field")]


def test_instance_diff_reports_a_change_once_for_a_whole_list():
    spec = _base()
    items = [{"id": i, "company_name": "x"} for i in range(30)]
    changes = instance_diff({"type": "array", "items": {"$ref": "#/components/schemas/Customer"}}, items,
                            Resolver(spec))
    assert [c.detail for c in changes] == ["$[*]: field companyName renamed to company_name"]


# ---------------------------------------------------------------------------- baseline and reports

def _finding(**values):
    data = {"operation": "GET /v1/Customers", "operation_id": "GET_Customers_List",
            "check": "response_schema_conformance", "change": "field renamed",
            "detail": "200 $[*]: field companyName renamed to company_name"}
    data.update(values)
    return Finding(**data)


def test_baseline_entries_match_by_operation_check_and_detail(tmp_path):
    path = tmp_path / "baseline.yaml"
    path.write_text(yaml.safe_dump({"known": [
        {"operation": "GET_Customers_*", "check": "response_schema_conformance", "detail": "companyName renamed",
         "reason": "vendor rename"},
        {"operation": "GET /v1/Vats", "check": "status_code_conformance"},
        {"operation": "GET_Units_List", "expires": "2000-01-01"},
    ]}))
    entries = load_baseline(path)
    findings = [_finding(), _finding(detail="200 $[*]: field email renamed to mail"),
                _finding(operation="GET /v1/Vats", operation_id="GET_Vats_List", check="status_code_conformance",
                         detail="undocumented status 403"),
                _finding(operation="GET /v1/Units", operation_id="GET_Units_List", check="content_type_conformance",
                         detail="200: undocumented content type text/plain")]
    apply_baseline(findings, entries)
    assert [f.known is not None for f in findings] == [True, False, True, False]  # the last entry has expired
    assert findings[0].known.reason == "vendor rename"
    assert [e.matched for e in entries] == [1, 1, 0]


def test_a_generated_baseline_accepts_exactly_the_findings_it_was_made_from(tmp_path):
    findings = [_finding(), _finding(operation="GET /v1/Vats", operation_id="GET_Vats_List",
                                     check="status_code_conformance", detail="undocumented status 403 (x) [y]")]
    path = tmp_path / "baseline.yaml"
    path.write_text(baseline_for(findings))
    apply_baseline(findings, load_baseline(path))
    assert all(f.known is not None for f in findings)
    other = [_finding(detail="200 $[*]: field companyName renamed to company")]
    apply_baseline(other, load_baseline(path))
    assert other[0].known is None


@pytest.mark.parametrize("text, message", [
    ("- check: x\n", "needs at least `operation`"),
    ("- {operation: x, detail: '('}\n", "not a valid regex"),
    ("- {operation: x, expires: tomorrow}\n", "YYYY-MM-DD"),
    ("- {operation: x, colour: red}\n", "unknown key"),
    ("{a: 1}\n", "expected a list"),
])
def test_a_malformed_baseline_is_refused_with_a_reason(tmp_path, text, message):
    path = tmp_path / "baseline.yaml"
    path.write_text(text)
    with pytest.raises(BaselineError, match=re.escape(message)):
        load_baseline(path)


def test_reports_show_each_finding_with_expected_actual_and_curl(tmp_path):
    outcomes = [
        OperationOutcome("GET /v1/Customers", "GET_Customers_List", requests=5, findings=[
            _finding(expected="companyName: string or null", actual='company_name: "ACME"',
                     curl='curl -X GET -H "X-API-KEY: $ALTOVIZ_API_KEY" http://127.0.0.1:1/v1/Customers')]),
        OperationOutcome("GET /v1/Vats", "GET_Vats_List", requests=2),
        OperationOutcome("GET /v1/SaleInvoices/{id}", "GET_SaleInvoices_Get", skipped="no id listed"),
    ]
    report = Report(title="Contract check of x", target="http://127.0.0.1:1", command="altoviz-mock contract",
                    outcomes=outcomes)
    markdown = to_markdown(report)
    assert "### GET /v1/Customers (`GET_Customers_List`)" in markdown
    assert '| `response_schema_conformance` | field renamed | 200 $[*]: field companyName renamed to company_name | ' \
           'companyName: string or null | company_name: "ACME" | 1× |' in markdown
    assert 'curl -X GET -H "X-API-KEY: $ALTOVIZ_API_KEY" http://127.0.0.1:1/v1/Customers' in markdown
    assert "| GET /v1/SaleInvoices/{id} | no id listed |" in markdown

    suite = ElementTree.fromstring(to_junit(report)).find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("3", "1", "1")
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    failure = cases["GET /v1/Customers"].find("failure")
    assert failure.get("type") == "response_schema_conformance"
    assert "companyName renamed to company_name" in failure.get("message")
    assert "reproduce: curl" in failure.text
    assert cases["GET /v1/Vats"].find("failure") is None
    assert cases["GET /v1/SaleInvoices/{id}"].find("skipped") is not None

    files = write_reports(report, tmp_path / "out")
    assert sorted(f.name for f in files) == ["contract-baseline.yaml", "contract-findings.json",
                                            "contract-junit.xml", "contract-report.md"]
    assert json.loads((tmp_path / "out" / "contract-findings.json").read_text())["findings"][0]["check"] == \
        "response_schema_conformance"


# ---------------------------------------------------------------------------- the command

def _write(tmp_path, name, spec) -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return str(path)


def test_drift_command_exits_1_on_new_differences_and_0_once_they_are_baselined(tmp_path, capsys):
    contract = _write(tmp_path, "contract.yaml", _base())
    published_spec = _base()
    _schemas(published_spec)["CustomerType"]["enum"].append("Government")
    published = _write(tmp_path, "published.yaml", published_spec)

    assert main(["drift", "--contract", contract, "--against", published, "--report", str(tmp_path / "r")]) == 1
    out = capsys.readouterr().out
    assert "GET /v1/Customers (GET_Customers_List)\n  response-enum-values-added: 200 $[*].type: enum values added: " \
           "Government" in out
    assert "4 difference(s): 4 new in 3 operation(s), 0 known (baseline)" in out
    assert (tmp_path / "r" / "drift-report.md").exists() and (tmp_path / "r" / "drift-junit.xml").exists()

    baseline = tmp_path / "r" / "drift-baseline.yaml"
    assert main(["drift", "--contract", contract, "--against", published, "--baseline", str(baseline)]) == 0
    assert "4 difference(s): 0 new in 0 operation(s), 4 known (baseline)" in capsys.readouterr().out

    assert main(["drift", "--contract", contract, "--against", contract]) == 0


def test_an_expired_baseline_entry_is_reported_as_expired_and_no_longer_accepts(tmp_path, capsys):
    contract = _write(tmp_path, "contract.yaml", _base())
    published_spec = _base()
    _schemas(published_spec)["CustomerType"]["enum"].append("Government")
    published = _write(tmp_path, "published.yaml", published_spec)
    yesterday = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    baseline = tmp_path / "baseline.yaml"
    baseline.write_text(yaml.safe_dump({"known": [
        {"operation": "*", "detail": "Government", "reason": "vendor's new type", "expires": yesterday},
        {"operation": "GET_Units_List", "reason": "gone since", "expires": tomorrow}]}))

    assert main(["drift", "--contract", contract, "--against", published, "--baseline", str(baseline)]) == 1
    out = capsys.readouterr().out
    assert "4 difference(s): 4 new in 3 operation(s), 0 known (baseline)" in out
    expired = next(line for line in out.splitlines() if line.startswith("Baseline entries expired"))
    assert f"* / * / Government (vendor's new type), expired {yesterday}" in expired and "GET_Units_List" not in expired
    unused = next(line for line in out.splitlines() if "matched nothing" in line)
    assert "GET_Units_List" in unused and "Government" not in unused


def test_drift_command_reads_a_published_spec_from_a_url(tmp_path, capsys):
    published_spec = _base()
    _op(published_spec, "/v1/Customers/{id}", "get")["responses"].pop("404")
    (tmp_path / "openapi.json").write_text(json.dumps(published_spec))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/openapi.json"
        assert load_spec(url)["paths"].keys() == published_spec["paths"].keys()
        assert main(["drift", "--contract", _write(tmp_path, "c.yaml", _base()), "--against", url]) == 1
        assert "response-status-removed: status 404 removed" in capsys.readouterr().out
    finally:
        server.shutdown()
        thread.join()


def test_drift_command_says_why_it_cannot_compare(tmp_path, capsys):
    assert main(["drift", "--against", str(tmp_path / "missing.yaml")]) == 2
    assert "cannot read" in capsys.readouterr().err
    (tmp_path / "not-openapi.yaml").write_text("just: text\n")
    assert main(["drift", "--against", str(tmp_path / "not-openapi.yaml")]) == 2
    assert "not an OpenAPI document" in capsys.readouterr().err
    (tmp_path / "bad-baseline.yaml").write_text("- check: x\n")
    assert main(["drift", "--against", _write(tmp_path, "p.yaml", _base()),
                 "--baseline", str(tmp_path / "bad-baseline.yaml")]) == 2
    assert "needs at least `operation`" in capsys.readouterr().err


def test_the_shipped_baseline_of_deliberate_differences_is_valid():
    entries = load_baseline(REPO / "contract_tests" / "baselines" / "published-spec.yaml")
    assert len(entries) >= 8 and all(entry.reason for entry in entries)


# --- docs/drift-example.md and the README's sample: one real run, written by docs/make_drift_example.py

def _drift_example():
    import importlib.util
    spec = importlib.util.spec_from_file_location("make_drift_example", REPO / "docs" / "make_drift_example.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_drift_example_and_the_readme_sample_are_one_run_of_todays_contract():
    example = _drift_example()
    doc = (REPO / "docs" / "drift-example.md").read_text(encoding="utf-8")
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    sample = readme[readme.index(example.SAMPLE_BEGIN):readme.index(example.SAMPLE_END)]
    result = re.search(r"## The result \(exit status (\d)\)\n.*?```\n(.*?)```", doc, re.S)
    status, lines = int(result.group(1)), result.group(2).splitlines()
    summary, total_line = lines[0], lines[-1]
    assert summary in sample and total_line in sample
    # The contract it was compared with has today's operations.
    assert summary.endswith(f"the contract mock_server/openapi.yaml ({len(operations_of(load_contract()))} operations)")
    new = int(re.search(r": (\d+) new in", total_line).group(1))
    assert (status == 0) == (new == 0) and f"Exit status {status}" in sample
    # The table by kind adds up to the run's total.
    total = int(re.match(r"(\d+) difference", total_line).group(1))
    assert sum(int(n) for n in re.findall(r"^\| `[a-z-]+` \| (\d+) \|", doc, re.M)) == total


def test_the_drift_example_quotes_the_run_it_makes(tmp_path):
    # A published spec one enum value ahead of the contract: one new difference, exit status 1.
    published = copy.deepcopy(load_contract())
    published["components"]["schemas"]["CustomerType"]["enum"].append("Martian")
    spec = tmp_path / "altoviz-openapi.yaml"
    spec.write_text(yaml.safe_dump(published, sort_keys=False, allow_unicode=True), encoding="utf-8")
    doc, sample = _drift_example().page(spec, dt.date(2026, 12, 2))
    assert "## The result (exit status 1)" in doc and "Output of 2 December 2026" in doc
    assert "enum values added: Martian" in doc and "enum values added: Martian" in sample
    assert re.search(r"^\| `response-enum-values-added` \| \d+ \| \*\*none: new\*\* \|$", doc, re.M)
    assert sample.startswith("<!-- drift-sample") and "Exit status 1" in sample
