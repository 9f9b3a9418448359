"""The application factory: the contract served by Connexion over the domain and the store."""

from __future__ import annotations

import copy
import json
import logging
from dataclasses import dataclass
from importlib import resources
from typing import Callable

import connexion
import flask
import yaml
from connexion.jsonifier import Jsonifier

from .api._http import EXTENSION
from .api.presenter import Presenter
from .api.problems import ProblemRenderer
from .api.resolver import OperationResolver
from .api.validation import validator_map
from .auth import security_map
from .config import Config
from .domain.collection import utcnow
from .files import FileStore
from .sandbox.controls import controls
from .sandbox.tenants import Tenants, reference_data
from .store import Store

log = logging.getLogger(__name__)


def contract_text() -> str:
    """The text of the packaged `openapi.yaml`."""
    return resources.files("mock_server").joinpath("openapi.yaml").read_text(encoding="utf-8")


def load_contract() -> dict:
    """The parsed contract (libyaml when available: start-up time matters)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(contract_text(), Loader=loader)


@dataclass
class Services:
    """What the adapters reach through `flask.current_app.extensions`."""

    config: Config
    store: Store
    tenants: Tenants
    presenter: Presenter
    files: FileStore
    clock: Callable = utcnow


def _refuse_unrouted():
    """404 for a request Flask routes but Connexion's router did not (e.g. a newline in a path
    segment): without an operation context the contract's checks never ran on it."""
    if flask.request.blueprint != controls.name:
        try:
            connexion.context.operation.operation_id
        except RuntimeError:
            flask.abort(404)


def create_app(config: Config | None = None) -> connexion.FlaskApp:
    """Build the sandbox app: contract, handlers, tenants, store; nothing runs at import time."""
    config = config or Config.from_env()
    spec = load_contract()
    store = Store(config.data_dir, fsync=config.fsync)
    tenants = Tenants(config, store, reference_data())
    services = Services(config=config, store=store, tenants=tenants, files=FileStore(config.data_dir),
                        presenter=Presenter(spec["components"]["schemas"]))

    # Compact UTF-8 JSON: json.dumps only uses its C encoder without `indent`.
    jsonifier = Jsonifier(json, ensure_ascii=False, separators=(",", ":"))
    app = connexion.FlaskApp(__name__, security_map=security_map(tenants), pythonic_params=True,
                             jsonifier=jsonifier, validator_map=validator_map())
    # Connexion resolves $refs in place: give it its own copy.
    app.add_api(copy.deepcopy(spec), resolver=OperationResolver(),
                validate_responses=config.validate_responses, strict_validation=False)
    ProblemRenderer(spec).install(app)
    app.app.extensions[EXTENSION] = services
    app.app.register_blueprint(controls)
    app.app.before_request(_refuse_unrouted)
    app.app.json.sort_keys = False
    app.app.json.ensure_ascii = False
    # Uploads are checked per kind (5 MB images, 10 MB PDFs); this bounds what is read at all.
    app.app.config["MAX_CONTENT_LENGTH"] = 12 * 1024 * 1024
    tenants.warm_up()
    return app
