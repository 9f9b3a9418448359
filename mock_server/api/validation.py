"""Request validation as the contract means it.

Gaps of Connexion 3 closed here: its Draft 4 format checker knows neither `int32` nor `int64`
(an id of 2**31 would pass and reach the store); it refuses an absent JSON body even when the
contract says the body is optional (`requestBody.required` false, as the vendor's are) yet treats
a JSON `null` the same way; and a body that is not UTF-8 crashes its parser.
"""

from __future__ import annotations

import copy

from connexion.json_schema import Draft4RequestValidator
from connexion.utils import is_null, is_nullable
from connexion.validators import VALIDATOR_MAP, JSONRequestBodyValidator, ParameterValidator
from connexion.datastructures import MediaTypeDict
from connexion.exceptions import BadRequestProblem
from jsonschema import Draft4Validator, FormatChecker, ValidationError

ABSENT = object()
"""What `_parse` returns for an empty body, so that it differs from a JSON `null`."""

INT_RANGES = {"int32": (-2**31, 2**31 - 1), "int64": (-2**63, 2**63 - 1)}


def format_checker() -> FormatChecker:
    """jsonschema's checks plus the integer ranges of `int32` and `int64`."""
    checker = FormatChecker()
    for name, (low, high) in INT_RANGES.items():
        checker.checks(name)(lambda value, low=low, high=high: not isinstance(value, int) or low <= value <= high)
    return checker


FORMATS = format_checker()


class ContractParameterValidator(ParameterValidator):
    """Parameter validation with `FORMATS`."""

    @staticmethod
    def validate_parameter(parameter_type, value, param, param_name=None):
        if is_nullable(param) and is_null(value):
            return None
        if value is not None:
            schema = copy.deepcopy(param).get("schema", param)
            try:
                Draft4Validator(schema, format_checker=FORMATS).validate(value)
            except ValidationError as exception:
                return str(exception)
            return None
        if param.get("required"):
            return f"Missing {parameter_type} parameter '{param['name']}'"
        return None


class ContractJSONBodyValidator(JSONRequestBodyValidator):
    """JSON body validation with `FORMATS`, letting an optional body be absent."""

    @property
    def _validator(self):
        return Draft4RequestValidator(self._schema, format_checker=FORMATS)

    async def _parse(self, stream, scope):
        raw = b"".join([message async for message in stream])
        if not raw.strip():
            return ABSENT
        try:
            raw.decode(self._encoding)
        except (UnicodeDecodeError, LookupError):
            raise BadRequestProblem(detail=f"The request body is not valid {self._encoding} text") from None
        return await super()._parse(_single(raw), scope)

    def _validate(self, body):
        if body is ABSENT:
            if self._required:
                raise BadRequestProblem("Request body must not be empty")
            return None
        if body is None and not self._nullable:
            raise BadRequestProblem("The request body must be a JSON value of the documented type, not null")
        return super()._validate(body)


async def _single(chunk: bytes):
    yield chunk


def validator_map() -> dict:
    """Connexion's validators with the contract-aware ones substituted."""
    body = dict(VALIDATOR_MAP["body"])
    body["*/*json"] = ContractJSONBodyValidator
    return {**VALIDATOR_MAP, "parameter": ContractParameterValidator, "body": MediaTypeDict(body)}
