"""The application factory: the contract served by Connexion over the domain and the store."""

from __future__ import annotations

import contextlib
import copy
import functools
import json
import logging
import os
from dataclasses import dataclass
from typing import Callable

import connexion
import flask
from connexion.json_schema import resolve_refs
from connexion.jsonifier import Jsonifier
from connexion.options import SwaggerUIOptions
from connexion.middleware import MiddlewarePosition

from .api._http import EXTENSION
from .api.presenter import Presenter
from .api.problems import ProblemRenderer
from .api.resolver import OperationResolver
from .api.validation import validator_map
from .asgi import BodyLimit, FlaskBridge
from . import speedups
from .auth import security_map
from .canonical import Canonical
from .ratelimit import RateLimit
from .config import Config
from .contracts import load_contract
from .dispatch import DirectDispatch
from .domain.collection import utcnow
from .events import Dispatcher
from .files import FileStore
from .sandbox.admin import admin_pages, inject_faults, load_admin_contract
from .sandbox.admin_api import BASE_PATH as ADMIN_BASE_PATH, add_admin_api
from .sandbox.faults import faults
from .sandbox.tenants import Tenants, reference_data
from .sandbox.webhooks import Inbox
from .store import Store

log = logging.getLogger(__name__)


# The API page at /ui/ (the contract at /openapi.json): swagger-ui-bundle's packaged assets only,
# no online validator, nothing fetched from the internet.
SWAGGER_UI = SwaggerUIOptions(swagger_ui_path="/ui", swagger_ui_config={
    "validatorUrl": None, "displayOperationId": True, "docExpansion": "list", "filter": True,
    "persistAuthorization": True, "tryItOutEnabled": True})


@dataclass
class Services:
    """What the adapters reach through `flask.current_app.extensions`."""

    config: Config
    store: Store
    tenants: Tenants
    presenter: Presenter
    files: FileStore
    webhooks: Dispatcher
    inbox: Inbox
    clock: Callable = utcnow

    def close(self) -> None:
        """Stop delivering webhooks, then close the store (compacting every tenant's journal)."""
        try:
            self.webhooks.close()
        finally:
            self.store.close()


def _refuse_unrouted():
    """404 for a request Flask routes but Connexion's router did not (e.g. a newline in a path
    segment): without an operation context the contract's checks never ran on it. Only the admin
    API's pages (its contract and Swagger UI, not operations) are plain Flask routes."""
    if flask.request.blueprint != admin_pages.name:
        try:
            connexion.context.operation.operation_id
        except RuntimeError:
            flask.abort(404)


def create_app(config: Config | None = None) -> connexion.FlaskApp:
    """Build the sandbox app: contract, handlers, tenants, store; nothing runs at import time."""
    config = config or Config.from_env()
    # Benchmarks only (docs/benchmarks.md): Connexion's stock bridge and per-request validators.
    stock = os.environ.get("ALTOVIZ_MOCK_STOCK_STACK") == "1"
    spec = load_contract()
    store = Store(config.data_dir, fsync=config.fsync)
    tenants = Tenants(config, store, reference_data())
    services = Services(config=config, store=store, tenants=tenants, files=FileStore(config.data_dir),
                        presenter=Presenter(spec["components"]["schemas"]),
                        webhooks=Dispatcher(config, tenants.open), inbox=Inbox())

    # Compact UTF-8 JSON: json.dumps only uses its C encoder without `indent`; orjson is faster still.
    jsonifier = (Jsonifier(json, ensure_ascii=False, separators=(",", ":")) if stock
                 else Jsonifier(speedups.FastJSON, ensure_ascii=False, separators=(",", ":")))
    app = connexion.FlaskApp(__name__, security_map=security_map(tenants), pythonic_params=True,
                             jsonifier=jsonifier, validator_map=validator_map(cache=not stock))
    # Connexion resolves $refs in place: give it its own copy. The admin API (/_mock) goes first:
    # the one at the root would take its paths otherwise (sandbox/admin_api.py).
    with contextlib.nullcontext() if stock else speedups.trusted_contract():
        add_admin_api(app, validate_responses=config.validate_responses)
        app.add_api(copy.deepcopy(spec), resolver=OperationResolver(),
                    validate_responses=config.validate_responses, strict_validation=False,
                    swagger_ui_options=SWAGGER_UI)
    ProblemRenderer(spec, {ADMIN_BASE_PATH: load_admin_contract()}).install(app)
    app.app.extensions[EXTENSION] = services
    app.app.before_request(inject_faults)
    app.app.before_request(_refuse_unrouted)
    app.app.json.sort_keys = False
    app.app.json.ensure_ascii = False
    # Uploads are checked per kind (5 MB images, 10 MB PDFs); this bounds what is read at all.
    app.app.config["MAX_CONTENT_LENGTH"] = 12 * 1024 * 1024
    # JSON bodies are bounded in front of everything (413, see asgi.py and the contract).
    app.add_middleware(BodyLimit, position=MiddlewarePosition.BEFORE_SWAGGER)
    # Requests read as the live API reads them, before anything routes or validates them.
    app.add_middleware(Canonical, position=MiddlewarePosition.BEFORE_SWAGGER, spec=spec, strict=config.strict)
    if config.rate_limit_rule:
        limit, window = config.rate_limit_rule
        app.add_middleware(RateLimit, position=MiddlewarePosition.BEFORE_SWAGGER, limit=limit, window=window)
    if not stock:
        speedups.install()
        app._middleware_app.asgi_app = FlaskBridge(app.app.wsgi_app, offload_writes=config.fsync)
    if config.direct_dispatch and not stock:
        app.add_middleware(DirectDispatch, position=MiddlewarePosition.BEFORE_SWAGGER,
                           spec=resolve_refs(copy.deepcopy(spec)), services=services,
                           faults=functools.partial(faults, app.app), validate_responses=config.validate_responses,
                           offload_writes=config.fsync)
    tenants.warm_up()
    # Webhook deliveries left pending by the last run: the configured tenants' now, the others'
    # (open tenants, read from disk) in the background.
    opened = store.tenants()
    services.webhooks.resume(opened)
    services.webhooks.resume_in_background(
        [t for t in store.persisted_tenants() if t not in opened and tenants.authenticate(t)])
    return app
