"""The application factory: the contract served by Connexion over the domain and the store."""

from __future__ import annotations

import copy
import json
import logging
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Callable

import flask
import orjson
from connexion.jsonifier import Jsonifier
from connexion.options import SwaggerUIOptions
from connexion.middleware.context import ContextMiddleware
from connexion.middleware.exceptions import ExceptionMiddleware
from connexion.middleware.swagger_ui import SwaggerUIMiddleware

from .api._http import EXTENSION, ServicesContext
from .api.operations import SandboxApp
from .api.presenter import Presenter
from .api.problems import ProblemRenderer
from .api.resolver import OperationResolver
from .api.validation import validator_map
from .asgi import BodyDeadline, BodyLimit, Pages, RequestHead
from .auth import security_map
from .canonical import Canonical, route_any_segment
from .ratelimit import RateLimit
from .rendering import FairRenders, RenderSlots
from .routing import middlewares
from .config import Config
from .contracts import load_admin_contract, load_contract
from .dashboard import dashboard
from .domain.collection import utcnow
from .events import Dispatcher
from .files import FileStore
from .journal import Journal, Operations, RequestJournal
from .sandbox.admin import Snapshots, admin_pages
from .sandbox.admin_api import BASE_PATH as ADMIN_BASE_PATH, add_admin_api
from .sandbox.clock import TenantClock
from .sandbox.controls import ControlError, problem_body
from .sandbox.faults import FaultInjection, Faults
from .sandbox.seeding import SeedCache
from .sandbox.tenants import Tenants, reference_data
from .sandbox.webhooks import Inbox
from .store import Store
from .warnings import WarningHeaders

log = logging.getLogger(__name__)


# The API page at /ui/ (the contract at /openapi.json): the project's template (swagger_ui/index.j2)
# over swagger-ui-bundle's packaged assets, no online validator, nothing fetched from the internet.
# The options go into the page's SwaggerUIBundle call: Swagger UI ignores `filter` in a configUrl.
SWAGGER_UI = SwaggerUIOptions(
    swagger_ui_path="/ui", swagger_ui_template_dir=str(Path(__file__).parent / "swagger_ui"),
    swagger_ui_template_arguments={"options": {
        "validatorUrl": None, "displayOperationId": True, "docExpansion": "list", "filter": True,
        "persistAuthorization": True, "tryItOutEnabled": True}})


class OrJSONifier(Jsonifier):
    """Connexion's `Jsonifier` (the `jsonifier=` knob) writing each answer with orjson, straight to
    the UTF-8 bytes Starlette sends: compact, a newline at the end as Connexion's own. What orjson
    refuses (a Decimal, an integer over 64 bits, a non-string key) goes through json as before."""

    def __init__(self):
        super().__init__(json, ensure_ascii=False, separators=(",", ":"))

    def dumps(self, data, **kwargs) -> bytes:
        try:
            return orjson.dumps(data) + b"\n"
        except (TypeError, orjson.JSONEncodeError):
            return super().dumps(data, **kwargs).encode("utf-8")


@dataclass
class Services:
    """What the handlers reach through `api._http.services()` (the dashboard through its Flask
    app's `extensions`): the app's parts, one set per app."""

    config: Config
    store: Store
    tenants: Tenants
    presenter: Presenter
    files: FileStore
    webhooks: Dispatcher
    inbox: Inbox
    journal: Journal
    renders: RenderSlots
    faults: Faults
    snapshots: Snapshots
    seeds: SeedCache
    clock: Callable = utcnow

    def close(self) -> None:
        """Stop delivering webhooks, then close the store (compacting every tenant's journal)."""
        try:
            self.webhooks.close()
        finally:
            self.store.close()


def pages_app(services: Services) -> flask.Flask:
    """The sandbox's web pages, a Flask app beside the API: the dashboard, the admin API's contract
    and Swagger UI. They read the app's `Services` from its `extensions`."""
    pages = flask.Flask(__name__)
    pages.extensions[EXTENSION] = services
    pages.register_blueprint(admin_pages)
    pages.register_blueprint(dashboard)
    pages.register_error_handler(ControlError, lambda exc: flask.Response(
        problem_body(exc), status=exc.status, mimetype="application/json"))
    pages.json.sort_keys = False
    pages.json.ensure_ascii = False
    return pages


def create_app(config: Config | None = None) -> SandboxApp:
    """Build the sandbox app: contract, handlers, tenants, store; nothing runs at import time."""
    config = config or Config.from_env()
    spec = load_contract()
    store = Store(config.data_dir, fsync=config.fsync, max_open=config.max_open_tenants, recover=config.recover)
    tenants = Tenants(config, store, reference_data())
    services = Services(config=config, store=store, tenants=tenants, files=FileStore(config.data_dir),
                        presenter=Presenter(spec["components"]["schemas"]),
                        webhooks=Dispatcher(config, tenants.open), inbox=Inbox(),
                        journal=Journal(config.journal_size,
                                        config.data_dir if config.journal_persist else None),
                        renders=RenderSlots(config.pdf_renders, config.pdf_renders_per_tenant),
                        faults=Faults(), snapshots=Snapshots(config.data_dir), seeds=SeedCache())

    # Compact UTF-8 JSON, encoded by orjson (a fifth of a list answer's CPU time with json.dumps).
    jsonifier = OrJSONifier()
    # The sandbox's middlewares, each list in front of the Connexion middleware it names (outermost
    # first), as `add_middleware`'s positions would put them; routing.py's subclasses take the place
    # of Connexion's routing and Swagger UI middlewares.
    edge = [
        # JSON bodies are bounded in front of everything (413, see asgi.py and the contract).
        BodyLimit,
        # Bodies arrive within a deadline, read on the event loop, never by a waiting thread (asgi.py).
        partial(BodyDeadline, timeout=config.body_timeout),
        RequestHead,
        # The dashboard and the admin API's pages: a Flask app beside the API (asgi.Pages).
        partial(Pages, pages=pages_app(services)),
        # Requests read as the live API reads them, before anything routes or validates them.
        partial(Canonical, spec=spec, strict=config.strict),
    ]
    if config.rate_limit_rule:
        limit, window = config.rate_limit_rule
        edge.append(partial(RateLimit, limit=limit, window=window))
    stack = middlewares(before={
        ExceptionMiddleware: [
            # The app's services for its handlers, around every request (outermost).
            partial(ServicesContext, services=services),
            # The request journal and access log see each answer as the client gets it: outside
            # every layer that answers or refuses (only the server-error middleware is further out).
            partial(RequestJournal, journal=services.journal, authenticate=tenants.authenticate,
                    sandbox_time=lambda tenant: TenantClock(tenants.open(tenant), real=services.clock,
                                                            committed=True)(),
                    operations=Operations(spec), clock=utcnow, log_format=config.log_format),
            # Each answer carries its request's X-Mock-Warnings, an error's rendered just inside too.
            WarningHeaders,
        ],
        SwaggerUIMiddleware: edge,
        ContextMiddleware: [
            # Fault rules act once the request is routed and authenticated (operationId and tenant
            # known), before its handler; their latency is awaited on the event loop (sandbox/faults.py).
            partial(FaultInjection, rules=services.faults, tenants=tenants),
            # PDF downloads take turns per tenant for the render slots, waiting on the loop (rendering.py).
            partial(FairRenders, slots=services.renders),
        ],
    })
    # Connexion's ASGI stack, not FlaskApp: the same knobs and contract, a quarter of the framework's
    # CPU per request; over `SandboxApp`'s handler calls, not AsyncApp's per-request decoration, a
    # fifth less again (docs/architecture.md). The handlers stay synchronous functions, run on the
    # event loop unless a step would wait, then in the thread pool (offload.py).
    app = SandboxApp(__name__, security_map=security_map(tenants), pythonic_params=True,
                     jsonifier=jsonifier, validator_map=validator_map(), middlewares=stack)
    # Before the APIs' Mounts are compiled: a newline in a path segment is routed (canonical.py).
    route_any_segment()
    # Connexion resolves $refs in place: give it its own copy. The admin API (/_mock) goes first:
    # the one at the root would take its paths otherwise (sandbox/admin_api.py).
    add_admin_api(app, validate_responses=config.validate_responses)
    app.add_api(copy.deepcopy(spec), resolver=OperationResolver(spec, jsonifier),
                validate_responses=config.validate_responses, strict_validation=False,
                swagger_ui_options=SWAGGER_UI)
    ProblemRenderer(spec, {ADMIN_BASE_PATH: load_admin_contract()}).install(app)
    app.services = services
    tenants.warm_up()
    # Webhook deliveries left pending by the last run: the configured tenants' now, the others'
    # (open tenants, read from disk) in the background.
    opened = store.tenants()
    services.webhooks.resume(opened)
    services.webhooks.resume_in_background(
        [t for t in store.persisted_tenants() if t not in opened and tenants.authenticate(t)])
    return app
