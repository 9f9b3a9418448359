"""Per-request work of Connexion 3 done once instead (measured in docs/benchmarks.md).

Connexion wraps the handler of an operation anew on every request (its decorators read the
operation from a context variable), and each wrapping inspects the handler's signature with
`inspect.signature`: about a tenth of the CPU time of a simple GET. A handler's signature never
changes, so the inspection is cached per function. `install()` is idempotent.

`trusted_contract()` skips Connexion's validation of the contract against the OpenAPI metaschema
while the app is built: 0.6 s of every start (the cold-start target is 1.5 s), spent on a packaged
file that tests/test_contract_file.py validates in every test run.

`tune_gc()` (the server process only): Python's full garbage collections walk every live object,
stored documents included, and grow to ~100 ms with 5,000 invoices; most of the sandbox's garbage
is freed by reference counting anyway, so they are made rare (see docs/benchmarks.md).

`FastJSON` encodes the answers with orjson (a fifth of the CPU time of a list answer goes to
`json.dumps` otherwise), falling back to the standard library for anything orjson refuses.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import json
import os
import threading

import orjson

import connexion.decorators.parameter as parameter_decorators
import connexion.security as security
import connexion.spec
from connexion.utils import inspect_function_arguments


@functools.lru_cache(maxsize=4096)
def _cached_arguments(function) -> tuple[tuple[str, ...], bool]:
    arguments, has_kwargs = inspect_function_arguments(function)
    return tuple(arguments), has_kwargs


def cached_inspect_function_arguments(function):
    """`connexion.utils.inspect_function_arguments`, cached per (hashable) function."""
    try:
        arguments, has_kwargs = _cached_arguments(function)
    except TypeError:  # unhashable callable
        return inspect_function_arguments(function)
    return list(arguments), has_kwargs


class FastJSON:
    """The `json` module as Connexion's Jsonifier uses it (`dumps(data, **kwargs)`, `loads`)."""

    @staticmethod
    def dumps(data, **kwargs) -> str:
        try:
            return orjson.dumps(data).decode("utf-8")
        except (TypeError, orjson.JSONEncodeError):  # e.g. a Decimal, a huge int, a non-str key
            return json.dumps(data, **kwargs)

    loads = staticmethod(json.loads)


_contract_lock = threading.Lock()


@contextlib.contextmanager
def trusted_contract():
    """Within: Connexion takes specifications as valid without checking them (see above)."""
    with _contract_lock:
        original = connexion.spec.Specification.__dict__["_validate_spec"]
        connexion.spec.Specification._validate_spec = classmethod(lambda cls, spec: None)
        try:
            yield
        finally:
            connexion.spec.Specification._validate_spec = original


def tune_gc() -> None:
    """Freeze what start-up built (never collected again) and collect young objects 70× less often."""
    if os.environ.get("ALTOVIZ_MOCK_STOCK_STACK") == "1":
        return
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def install() -> None:
    parameter_decorators.inspect_function_arguments = cached_inspect_function_arguments
    security.inspect_function_arguments = cached_inspect_function_arguments
