"""Handlers of the request journal's admin API (/_mock/requests...): the calling tenant's recorded
requests, filtered and paged, counted, exported as HAR 1.2, forgotten. The journal itself, its
entries and its filters are mock_server/journal.py."""

from __future__ import annotations

from .. import __version__
from ..api._http import host_url, http_request, services
from ..journal import FilterError, Journal, har, page_of, paging, select
from .controls import ControlError, _tenant


def _journal() -> Journal:
    return services().journal


def _selected() -> list[dict]:
    """The entries the filters keep (`page` and `pageSize`, shared by the three endpoints in
    admin.yaml, are checked here too, so that a bad one is a 400 wherever it is given)."""
    try:
        args = http_request().query_params
        paging(args)
        return select(_journal().entries(_tenant()), args)
    except FilterError as exc:
        raise ControlError(400, "Bad Request", str(exc)) from None


def list_requests():
    """The calling tenant's recorded requests, newest first, one page of them."""
    try:
        return page_of(_selected(), http_request().query_params)
    except FilterError as exc:
        raise ControlError(400, "Bad Request", str(exc)) from None


def count_requests():
    return {"count": len(_selected())}


def delete_requests():
    """Forget the calling tenant's recorded requests (entry ids keep increasing)."""
    return {"deleted": _journal().clear(_tenant())}


def export_har():
    """The selected requests, oldest first, as a HAR 1.2 log (a file browsers' viewers open)."""
    log = har(list(reversed(_selected())), host_url(), __version__)
    return log, 200, {"Content-Disposition": 'attachment; filename="altoviz-mock-requests.har"'}
