"""The last step of a request: Connexion has routed, authenticated and validated it; its
operation's handler is called with the request's parameters, and what it returns is the answer.

`SandboxApp` is Connexion in its middleware mode: `ConnexionMiddleware`, the stack `AsyncApp` is
made of (the sandbox's `middlewares`, `validator_map`, `security_map`, `jsonifier`, error
handlers), around an app of the sandbox's own. `AsyncApp`'s own app is a router of operations
that, on every request, decorate the handler anew with Connexion's
parameter and response decorators (the signature inspected, the URI parser built, a
`ConnexionRequest` made, every parameter definition filtered again): about a fifth of the CPU of a
create + finalize pair in process (docs/architecture.md). `Handlers`, a Connexion
`RoutedMiddleware` like the validation and security middlewares, works out once per operation
what its handler takes, and on each request only reads those values:

- path and query parameters through the operation's URI parser (Connexion's, built once, so arrays
  and styles read as Connexion reads them), each cast to its schema's type by Connexion's
  `make_type`, a query parameter's default where it is absent, named as Connexion names them
  (`pythonic_params`: `pageIndex` → `page_index`, `id` → `id_`);
- a JSON body the handler takes (the admin API's handlers), as the body validator parsed it
  (`validation.PARSED_BODY`); no body or `null` gives the schema's default or `{}`, as Connexion
  gives;
- the files of a multipart form (an upload), by Starlette's form parser, as Connexion passes them;
- then the handler: a coroutine (each /v1 handler, `offload.inline_first`) awaited on the loop, a
  plain function (the admin API's) in the thread pool; its return value made into the answer by
  Connexion's own response decorator (`AsyncResponseDecorator`, applied once).
"""

from __future__ import annotations

import asyncio
import copy
import typing as t

from connexion.decorators.parameter import CONTEXT_NAME, pythonic, sanitized, unwrap_decorators
from connexion.decorators.response import AsyncResponseDecorator
from connexion.frameworks.starlette import Starlette as StarletteFramework
from connexion.jsonifier import Jsonifier
from connexion.middleware import ConnexionMiddleware
from connexion.middleware.abstract import RoutedAPI, RoutedMiddleware
from connexion.utils import deep_merge, inspect_function_arguments, is_null, is_nullable, make_type
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams, UploadFile
from starlette.requests import Request
from starlette.routing import Router
from starlette.testclient import TestClient

from ..asgi import RAW_BODY
from ..domain.copies import copy_stored
from ._http import parsed_body
from .validation import ABSENT, PARSED_BODY, parse_json

FORMS = ("multipart/form-data", "application/x-www-form-urlencoded")


def _caster(definition: dict) -> t.Callable[[t.Any], t.Any]:
    """A parameter's value (as the URI parser resolved it) cast to its schema's type, as Connexion
    casts it: null for a nullable one given `null`, each item of an array."""
    schema = definition.get("schema", definition)
    nullable = is_nullable(schema)
    if schema["type"] == "array":
        type_, format_ = schema["items"]["type"], schema["items"].get("format")

        def cast(value):
            if nullable and is_null(value):
                return None
            return [make_type(part, type_, format_) for part in value]
    else:
        type_, format_ = schema["type"], schema.get("format")

        def cast(value):
            if nullable and is_null(value):
                return None
            return make_type(value, type_, format_)
    return cast


def _default(definition: dict):
    """A query parameter's default (`KeyError` without one), as Connexion reads it."""
    if "default" in definition:
        return definition["default"]
    schema = definition["schema"]
    if schema["type"] == "object":
        return copy.deepcopy(schema["default"]) if "default" in schema else _object_default(
            schema.get("properties", {}), {})
    return schema["default"]


def _object_default(properties: dict, value: dict) -> dict:
    for name, prop in properties.items():
        if "default" in prop and name not in value:
            value[name] = copy.copy(prop["default"])
        elif prop.get("type") == "object" and "properties" in prop:
            value[name] = _object_default(prop["properties"], value.setdefault(name, {}))
    return value


class HandlerCall:
    """One operation's handler, with what it takes from a request worked out once."""

    def __init__(self, operation, *, pythonic_params: bool, jsonifier: Jsonifier):
        self.operation_id = operation.operation_id
        self.function = function = operation.function
        self.is_coroutine = asyncio.iscoroutinefunction(function)
        arguments, self.has_kwargs = inspect_function_arguments(unwrap_decorators(function))
        self.takes = takes = set(arguments)
        sanitize = self.sanitize = pythonic if pythonic_params else sanitized
        wanted = self.wanted = (lambda name: True) if self.has_kwargs else (lambda name: name in takes)
        self.uri_parser = operation.uri_parser_class(operation.parameters, operation.body_definition())
        parameters = operation.parameters
        # Connexion passes every path parameter, defined or not (a router's own, e.g. a mount's).
        self.path = {p["name"]: (sanitize(p["name"]), _caster(p)) for p in parameters if p["in"] == "path"}
        self.query = {p["name"]: (sanitize(p["name"]), _caster(p)) for p in parameters
                      if p["in"] == "query" and wanted(sanitize(p["name"]))}
        self.query_defaults = {}
        for p in parameters:
            if p["in"] == "query" and p["name"] in self.query:
                try:
                    self.query_defaults[p["name"]] = _default(p)
                except KeyError:
                    pass
        self.body = None
        if operation.method.upper() != "TRACE" and operation.is_request_body_defined:
            name = sanitize(operation.body_name(None))
            if wanted(name):
                if any(media in FORMS for media in operation.consumes):
                    raise NotImplementedError(
                        f"{self.operation_id}: a handler taking a form body as `{name}` is not supported "
                        "(it takes the form's files by name)")
                self.body = name
                schema = operation.body_schema()
                self.body_nullable = is_nullable(schema)
                self.body_default = schema.get("default", {})
        self.files = None
        if operation.is_request_body_defined and any(media in FORMS for media in operation.consumes):
            properties = operation.body_schema().get("properties", {})
            self.files = {name: properties.get(name, {}).get("type") == "array" for name in properties}
        supplied = {key for key, _ in self.path.values()} | {key for key, _ in self.query.values()}
        self.context = self.has_kwargs or bool(takes - supplied - {self.body} - set(self.files or ()))
        self.context_argument = CONTEXT_NAME in takes
        self.respond = AsyncResponseDecorator(framework=StarletteFramework, jsonifier=jsonifier)(self._run)

    async def _run(self, kwargs: dict):
        if self.is_coroutine:
            return await self.function(**kwargs)
        return await run_in_threadpool(self.function, **kwargs)

    def _parameters(self, scope) -> dict:
        kwargs = {}
        path_params = scope.get("path_params")
        if path_params:
            for name, value in self.uri_parser.resolve_path(path_params).items():
                known = self.path.get(name)
                if known is None:
                    kwargs[self.sanitize(name)] = value
                else:
                    kwargs[known[0]] = known[1](value)
        if self.query:
            values = copy.deepcopy(self.query_defaults) if self.query_defaults else {}
            raw = scope.get("query_string")
            if raw:
                args = QueryParams(raw)
                deep_merge(values, self.uri_parser.resolve_query({k: args.getlist(k) for k in args}))
            for name, value in values.items():
                known = self.query.get(name)
                if known is not None:
                    kwargs[known[0]] = known[1](value)
        return kwargs

    async def _body(self, scope, receive):
        extensions = scope.get("extensions", {})
        if PARSED_BODY in extensions or RAW_BODY in extensions:
            value = parsed_body(extensions)
        else:  # an app without the sandbox's edge middlewares (tests/test_operations.py)
            value = parse_json(await Request(scope, receive).body())
        if value is ABSENT:
            value = None
        if self.body_nullable and is_null(value):
            return None
        # A copy of its own, as `_http.request_document` gives (a handler rerun in a thread gets the body as it came).
        return copy.deepcopy(self.body_default) if value is None else copy_stored(value)

    async def _files(self, scope, receive, kwargs: dict) -> None:
        form = await Request(scope, receive).form()
        files: dict[str, list] = {}
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                files.setdefault(name, []).append(value)
        for name, values in files.items():
            if not self.wanted(name):
                continue
            kwargs[name] = values if self.files.get(name) else values[0]

    async def __call__(self, scope, receive, send) -> None:
        kwargs = self._parameters(scope)
        if self.body is not None:
            kwargs[self.body] = await self._body(scope, receive)
        if self.files is not None:
            await self._files(scope, receive, kwargs)
        if self.context or self.context_argument:
            context = scope.setdefault("extensions", {}).setdefault("connexion_context", {})
            for key, value in context.items():
                if self.has_kwargs or key in self.takes:
                    kwargs[key] = value
            if self.context_argument:
                kwargs[CONTEXT_NAME] = context
        response = await self.respond(kwargs)
        await response(scope, receive, send)


class HandlerAPI(RoutedAPI[HandlerCall]):
    def __init__(self, *args, pythonic_params: bool, jsonifier: Jsonifier | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.pythonic_params = pythonic_params
        self.jsonifier = jsonifier or Jsonifier()
        self.add_paths()

    def make_operation(self, operation) -> HandlerCall:
        return HandlerCall(operation, pythonic_params=self.pythonic_params, jsonifier=self.jsonifier)


class Handlers(RoutedMiddleware[HandlerAPI]):
    """The app Connexion's middleware stack wraps: each routed request to its `HandlerCall`; a
    request no operation took goes to a Starlette router without routes, which answers 404 as
    `AsyncApp`'s does."""

    api_cls = HandlerAPI

    def __init__(self) -> None:
        super().__init__(Router())


class SandboxApp:
    """The sandbox's ASGI app: Connexion's `ConnexionMiddleware` (its middleware mode, the stack
    `AsyncApp` and `FlaskApp` are made of, with the same knobs as keyword arguments) wrapping
    `Handlers`; `add_api`, `add_error_handler`, `add_middleware` and `test_client` as on a
    Connexion app."""

    def __init__(self, import_name: str, **options) -> None:
        self.middleware = ConnexionMiddleware(Handlers(), import_name=import_name, **options)

    def add_api(self, specification, **options):
        return self.middleware.add_api(specification, **options)

    def add_error_handler(self, code_or_exception, function) -> None:
        self.middleware.add_error_handler(code_or_exception, function)

    def add_middleware(self, middleware_class, **options) -> None:
        self.middleware.add_middleware(middleware_class, **options)

    def test_client(self, **options) -> TestClient:
        return TestClient(self, **options)

    async def __call__(self, scope, receive, send) -> None:
        await self.middleware(scope, receive, send)
