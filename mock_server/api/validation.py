"""Request validation as the contract means it.

Gaps of Connexion 3 closed here: its Draft 4 format checker knows neither `int32` nor `int64`
(an id of 2**31 would pass and reach the store); it refuses an absent JSON body even when the
contract says the body is optional (`requestBody.required` false, as the vendor's are) yet treats
a JSON `null` the same way; a body that is not UTF-8 crashes its parser, and one nested deeper
than the parser's recursion limit answers 500.

Connexion also builds a new jsonschema validator for every parameter and body of every request;
here each is compiled once per schema and reused (see docs/benchmarks.md for what it saves). The
validators themselves, its URI parser and the body definition it looks up are built once per
operation too (`PreparedValidation`, in place of Connexion's request validation middleware).

A JSON body, and each parameter's value, is first checked by jsonschema-rs (compiled once per
schema: a tenth of the CPU of a create request otherwise, docs/benchmarks.md) against the same
schema, written as plain Draft 4 (`draft4_schema`) with the same format checks. A value it accepts
is valid; any other goes to jsonschema, which decides and words the refusal. jsonschema-rs can only
make a valid value slower, never let an invalid one through: tests/test_validation.py checks both
engines agree on every body and parameter schema of the contract.

A refusal by a schema is a `SchemaViolation`: Connexion's `BadRequestProblem` with the same detail
as Connexion words it, carrying jsonschema's error and the schema it broke, so that the error
renderer (api/problems.py) can word it for an API that speaks in its own words (the admin API).
"""

from __future__ import annotations

import copy
import json
import re
import threading
from collections import OrderedDict

import jsonschema_rs
import orjson
from connexion.json_schema import Draft4RequestValidator, format_error_with_path
from connexion.utils import is_null, is_nullable
from connexion.validators import VALIDATOR_MAP, JSONRequestBodyValidator, ParameterValidator
from connexion.datastructures import MediaTypeDict
from connexion.exceptions import BadRequestProblem
from connexion.middleware.request_validation import (RequestValidationAPI, RequestValidationMiddleware,
                                                     RequestValidationOperation)
from jsonschema import Draft4Validator, FormatChecker, ValidationError

class SchemaViolation(BadRequestProblem):
    """A parameter or body its schema refuses (a 400). `where`: "body" or the parameter's `in`;
    `name`: the parameter's name (None for a body); `schema`: the parameter's or body's schema;
    `error`: jsonschema's `ValidationError` (None for a missing required parameter)."""

    def __init__(self, detail: str, *, where: str, schema: dict, error: ValidationError | None = None,
                 name: str | None = None):
        super().__init__(detail=detail)
        self.where, self.name, self.schema, self.error = where, name, schema, error


ABSENT = object()
"""What `_parse` returns for an empty body, so that it differs from a JSON `null`."""

PARSED_BODY = "altoviz_mock.parsed_body"
"""The ASGI scope's extension holding `(body, parse_json(body))` for a body read already: the
body validator does not parse the same bytes again, and the handler gets what was validated
(api/_http.request_document)."""

INT_RANGES = {"int32": (-2**31, 2**31 - 1), "int64": (-2**63, 2**63 - 1)}


def format_checker() -> FormatChecker:
    """jsonschema's checks plus the integer ranges of `int32` and `int64`."""
    checker = FormatChecker()
    for name, (low, high) in INT_RANGES.items():
        checker.checks(name)(lambda value, low=low, high=high: not isinstance(value, int) or low <= value <= high)
    return checker


FORMATS = format_checker()

MAX_DEPTH = 64
"""How deeply a request body's arrays and objects may nest (the contract's go 5 deep at most)."""


class _Compiled:
    """Validators compiled once per schema object of the (loaded, never mutated) contract.

    Keyed by the schema's id, the entry keeps the schema itself, so that the id cannot be reused
    by another object while the entry lives; bounded, for processes that build many apps (tests).
    """

    def __init__(self, size: int = 2048, enabled: bool = True):
        self.enabled = enabled
        self._entries: OrderedDict[tuple, tuple] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, kind, schema: dict, build):
        if not self.enabled:
            return build()
        key = (kind, id(schema))
        entry = self._entries.get(key)
        if entry is not None and entry[0] is schema:
            return entry[1]
        validator = build()
        with self._lock:
            self._entries[key] = (schema, validator)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return validator


COMPILED = _Compiled()


# The keywords whose value is a schema, a list of schemas, or a name → schema mapping (Draft 4).
_SUBSCHEMA = ("items", "additionalItems", "additionalProperties", "not")
_SUBSCHEMAS = ("allOf", "anyOf", "oneOf")
_NAMED_SUBSCHEMAS = ("properties", "patternProperties", "definitions")


def draft4_schema(schema):
    """An OpenAPI 3.0 request schema as plain Draft 4, meaning what Connexion's request validator
    (`Draft4RequestValidator` with `FORMATS`) means by it: `nullable` (or `x-nullable`) adds null
    to the object's own `type` and `enum`, `int32` and `int64` become the bounds they check."""
    if isinstance(schema, list):
        return [draft4_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema  # a boolean `additionalProperties`
    out = dict(schema)
    for key in _SUBSCHEMA + _SUBSCHEMAS:
        if key in out:
            out[key] = draft4_schema(out[key])
    for key in _NAMED_SUBSCHEMAS:
        if isinstance(out.get(key), dict):
            out[key] = {name: draft4_schema(sub) for name, sub in out[key].items()}
    if out.get("nullable") is True or out.get("x-nullable") is True:
        if "type" in out:
            types = out["type"] if isinstance(out["type"], list) else [out["type"]]
            out["type"] = types if "null" in types else [*types, "null"]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    if out.get("format") in INT_RANGES:
        low, high = INT_RANGES[out.pop("format")]
        out["allOf"] = [*out.get("allOf", []), {"minimum": low, "maximum": high}]
    return out


# jsonschema-rs checks each format FORMATS knows through FORMATS itself (one rule per format).
_RS_FORMATS = {name: (lambda value, name=name: FORMATS.conforms(value, name))
               for name in FORMATS.checkers if name not in INT_RANGES}


def fast_check(schema: dict):
    """`is_valid(body)` by jsonschema-rs over `draft4_schema(schema)`: True only for a body that
    jsonschema would accept too; False for one to hand to jsonschema (it may still be valid).

    Connexion's body schemas have their `$ref`s resolved in place and carry the contract's
    `components` beside (which then hold the schema itself): those are left out. A schema with a
    `$ref` left is not checked here (always False)."""
    schema = draft4_schema({key: value for key, value in schema.items() if key != "components"})
    if '"$ref"' in json.dumps(schema):
        return lambda body: False
    validator = jsonschema_rs.Draft4Validator(schema, formats=_RS_FORMATS, validate_formats=True,
                                              ignore_unknown_formats=True)

    def is_valid(body) -> bool:
        try:
            return validator.is_valid(body)
        except (ValueError, TypeError, OverflowError):  # a value jsonschema-rs cannot take
            return False

    return is_valid


def _parameter_validator(param: dict) -> Draft4Validator:
    schema = copy.deepcopy(param).get("schema", param)
    return Draft4Validator(schema, format_checker=FORMATS)


def _too_deep(raw: bytes, value) -> bool:
    """True if the parsed body nests arrays/objects more than MAX_DEPTH levels."""
    if raw.count(b"[") + raw.count(b"{") <= MAX_DEPTH:
        return False  # the common case: too few brackets to be that deep
    stack = [(value, 1)]
    while stack:  # iterative: walks containers only, never recurses
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node
        if depth > MAX_DEPTH:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


class ContractParameterValidator(ParameterValidator):
    """Parameter validation with `FORMATS`."""

    compiled = COMPILED

    @classmethod
    def validate_parameter(cls, parameter_type, value, param, param_name=None):
        if is_nullable(param) and is_null(value):
            return None
        if value is not None:
            # jsonschema-rs first, as for bodies; jsonschema decides (and words) any value it refuses.
            if cls.compiled.get("fast parameter", param, lambda: fast_check(param.get("schema", param)))(value):
                return None
            validator = cls.compiled.get("parameter", param, lambda: _parameter_validator(param))
            try:
                validator.validate(value)
            except ValidationError as exception:
                raise SchemaViolation(str(exception), where=parameter_type, name=param["name"],
                                      schema=param.get("schema", param), error=exception) from None
            return None
        if param.get("required"):
            raise SchemaViolation(f"Missing {parameter_type} parameter '{param['name']}'", where=parameter_type,
                                  name=param["name"], schema=param.get("schema", param))
        return None


class ContractJSONBodyValidator(JSONRequestBodyValidator):
    """JSON body validation with `FORMATS`, letting an optional body be absent."""

    compiled = COMPILED

    @property
    def _validator(self):
        schema = self._schema
        return self.compiled.get("body", schema, lambda: Draft4RequestValidator(schema, format_checker=FORMATS))

    async def _parse(self, stream, scope):
        raw = b"".join([message async for message in stream])
        # Parsed once: the live-behaviour layer has read these very bytes already (canonical.py).
        extensions = scope.setdefault("extensions", {})
        known = extensions.get(PARSED_BODY)
        if known is not None and known[0] == raw and self._encoding.lower() in _UTF8:
            return known[1]
        body = parse_json(raw, self._encoding)
        extensions[PARSED_BODY] = (raw, body)  # what the handler gets (api/_http.request_document)
        return body

    def _validate(self, body):
        if body is ABSENT:
            if self._required:
                raise BadRequestProblem("Request body must not be empty")
            return None
        if body is None and not self._nullable:
            raise BadRequestProblem("The request body must be a JSON value of the documented type, not null")
        if self.compiled.get("fast", self._schema, lambda: fast_check(self._schema))(body):
            return None
        try:
            return self._validator.validate(body)
        except ValidationError as exception:
            # Worded as Connexion words it (JSONRequestBodyValidator._validate).
            raise SchemaViolation(f"{exception.message}{format_error_with_path(exception=exception)}",
                                  where="body", schema=self._schema, error=exception) from None


MAX_INT_DIGITS = 4300
"""Python's own limit on converting digits to an int (`sys.get_int_max_str_digits`)."""

# A `\uD800`-`\uDFFF` escape: the only way a lone surrogate (not Unicode text) gets into a body.
SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


# Digit runs orjson would read differently: it reads an integer beyond 64 bits as a float.
_LONG_DIGITS = re.compile(rb"[0-9]{19}")
_UTF8 = ("utf-8", "utf8")


def parse_json(raw: bytes, encoding: str = "utf-8"):
    """A request body as JSON (RFC 8259), or `ABSENT` for an empty one; `BadRequestProblem` (400)
    for anything else: not `encoding` text, not JSON, NaN or Infinity, an integer of more than
    MAX_INT_DIGITS digits, a lone UTF-16 surrogate, arrays/objects nested over MAX_DEPTH levels.
    The one parser of request bodies, /v1 and /_mock alike.

    orjson reads a UTF-8 body first (a fifth of json's time): it refuses each of those itself
    (and a byte order mark), and reads what it accepts as json does, once no integer of more than
    18 digits can be in it. Whatever it refuses goes to json (`_parse_json`), which decides and
    words the refusal (an empty body too); tests/test_validation.py checks both read every body
    alike."""
    if encoding.lower() in _UTF8 and not _LONG_DIGITS.search(raw):
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
        else:
            if isinstance(body, (dict, list)) and _too_deep(raw, body):
                raise BadRequestProblem(detail=TOO_DEEP)
            return body
    return _parse_json(raw, encoding)


TOO_DEEP = f"The request body nests arrays or objects more than {MAX_DEPTH} levels deep"


def _parse_json(raw: bytes, encoding: str):
    """`parse_json` by Python's json, with the hooks that refuse what RFC 8259 does not allow."""
    if not raw.strip():
        return ABSENT
    try:
        text = raw.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        raise BadRequestProblem(detail=f"The request body is not valid {encoding} text") from None
    try:
        body = json.loads(text, parse_constant=_not_json, parse_float=_finite_float, parse_int=_bounded_int)
    except json.JSONDecodeError as exc:
        raise BadRequestProblem(detail=str(exc)) from None
    except RecursionError:  # deeper than the parser goes: far deeper than MAX_DEPTH
        raise BadRequestProblem(detail=TOO_DEEP) from None
    if isinstance(body, (dict, list)) and _too_deep(raw, body):
        raise BadRequestProblem(detail=TOO_DEEP)
    if SURROGATE_ESCAPE.search(raw) and _has_lone_surrogate(body):
        raise BadRequestProblem(detail="The request body holds a lone UTF-16 surrogate escape, which is not Unicode text")
    return body


def _bounded_int(literal: str) -> int:
    if len(literal.lstrip("-")) > MAX_INT_DIGITS:
        raise BadRequestProblem(detail=f"The request body holds an integer of more than {MAX_INT_DIGITS} digits")
    return int(literal)


def _has_lone_surrogate(value) -> bool:
    """True if a string (or key) of the parsed body is not encodable Unicode (a lone surrogate)."""
    stack = [value]
    while stack:  # iterative: the depth is bounded already, but never recurse on input
        node = stack.pop()
        if isinstance(node, str):
            try:
                node.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


def _not_json(literal: str):
    """NaN, Infinity and -Infinity: Python's json reads them, JSON (RFC 8259) has no such numbers."""
    raise BadRequestProblem(detail=f"{literal} is not a JSON number")


def _finite_float(literal: str) -> float:
    value = float(literal)
    if value in (float("inf"), float("-inf")):
        raise BadRequestProblem(detail=f"{literal} is too large for a number")
    return value


def validator_map(cache: bool = True) -> dict:
    """Connexion's validators with the contract-aware ones substituted.

    `cache=False` builds a validator per request as Connexion does (benchmarks compare the two).
    """
    parameter, json_body = ContractParameterValidator, ContractJSONBodyValidator
    if not cache:
        uncached = {"compiled": _Compiled(enabled=False)}
        parameter = type("UncachedParameterValidator", (parameter,), uncached)
        json_body = type("UncachedJSONBodyValidator", (json_body,), uncached)
    body = dict(VALIDATOR_MAP["body"])
    body["*/*json"] = json_body
    return {**VALIDATOR_MAP, "parameter": parameter, "body": MediaTypeDict(body)}


class PreparedValidationOperation(RequestValidationOperation):
    """Connexion's request validation of one operation, with what depends only on the operation
    built once instead of on every request.

    Connexion's `RequestValidationOperation` builds, for each request, a URI parser, a parameter
    validator, the operation's body definition (three times, each a `MediaTypeDict` search) and a
    body validator: 12 % of a create customer's instructions went to request validation, most of
    it to that set-up (docs/architecture.md). None of them keeps anything of a request, so this
    subclass builds the parser and the parameter validator with the operation, and a body
    validator once per request media type and encoding (a few: `_MEDIA_TYPES` at most, the others
    built per request as before). The steps and their order are Connexion's: parameters, then the
    media type (refused with Connexion's 415 when the operation does not consume it), then the body.
    """

    _MEDIA_TYPES = 16

    def __init__(self, next_app, *, operation, strict_validation=False, validator_map=None):
        super().__init__(next_app, operation=operation, strict_validation=strict_validation,
                         validator_map=validator_map)
        self._uri_parser = operation.uri_parser_class(operation.parameters, operation.body_definition())
        self._parameters = self._validator_map["parameter"](
            operation.parameters, uri_parser=self._uri_parser, strict_validation=strict_validation,
            security_query_params=self.security_query_params)
        # (media type, encoding) -> its body validator, or None where there is no body to validate.
        self._bodies: dict[tuple[str, str], object] = {}

    def _body_validator(self, mime_type: str, encoding: str):
        """Connexion's body validator for a request of this media type (None: nothing to validate),
        once the media type is accepted (`validate_mime_type` raises otherwise)."""
        self.validate_mime_type(mime_type)
        operation = self._operation
        schema = operation.body_schema(mime_type)
        if not schema:
            return None
        body_validator = self._validator_map["body"].get(mime_type)
        if body_validator is None:
            return None
        return body_validator(schema=schema, required=operation.request_body.get("required", False),
                              nullable=is_nullable(operation.body_definition(mime_type)), encoding=encoding,
                              strict_validation=self.strict_validation, uri_parser=self._uri_parser)

    async def __call__(self, scope, receive, send):
        self._parameters.validate(scope)
        key = self.extract_content_type(scope["headers"])
        try:
            validator = self._bodies[key]
        except KeyError:
            validator = self._body_validator(*key)
            if len(self._bodies) < self._MEDIA_TYPES:
                self._bodies[key] = validator
        if validator is not None:
            receive, scope = await validator.wrap_receive(receive, scope=scope)
        await self.next_app(scope, receive, send)


class PreparedValidationAPI(RequestValidationAPI):
    def make_operation(self, operation):
        return PreparedValidationOperation(self.next_app, operation=operation,
                                           strict_validation=self.strict_validation,
                                           validator_map=self.validator_map)


class PreparedValidation(RequestValidationMiddleware):
    """Connexion's `RequestValidationMiddleware`, its operations `PreparedValidationOperation`s: put
    in its place in the app's `middlewares` (routing.middlewares)."""

    api_cls = PreparedValidationAPI
