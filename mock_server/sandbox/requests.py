"""Handlers of the request journal's admin API (/_mock/requests...): the calling tenant's recorded
requests, filtered and paged, counted, exported as HAR 1.2, forgotten. The journal itself, its
entries and its filters are mock_server/journal.py.

The three reading endpoints share admin.yaml's filters (`journalFilters`), which Connexion
validates and passes as keyword arguments; `page` and `pageSize` are checked on all three (a bad
one is a 400 wherever it is given), used by the list only.
"""

from __future__ import annotations

from .. import __version__
from ..api._http import host_url, services
from ..journal import FilterError, Journal, har, page_of, select
from .controls import ControlError, _tenant


def _journal() -> Journal:
    return services().journal


def _selected(operation_id=None, method=None, path=None, status=None, since=None, after=None,
              warnings=None, refused=None) -> list[dict]:
    """The entries the filters (admin.yaml's `journalFilters`, as keyword arguments) keep."""
    try:
        return select(_journal().entries(_tenant()), operation_id=operation_id, method=method, path=path,
                      status=status, since=since, after=after, warnings=warnings, refused=refused)
    except FilterError as exc:
        raise ControlError(400, "Bad Request", str(exc)) from None


def list_requests(page: int, page_size: int, operation_id=None, method=None, path=None, status=None,
                  since=None, after=None, warnings=None, refused=None):
    """The calling tenant's recorded requests, newest first, one page of them."""
    return page_of(_selected(operation_id, method, path, status, since, after, warnings, refused), page, page_size)


def count_requests(page: int, page_size: int, operation_id=None, method=None, path=None, status=None,
                   since=None, after=None, warnings=None, refused=None):
    return {"count": len(_selected(operation_id, method, path, status, since, after, warnings, refused))}


def delete_requests():
    """Forget the calling tenant's recorded requests (entry ids keep increasing)."""
    return {"deleted": _journal().clear(_tenant())}


def export_har(page: int, page_size: int, operation_id=None, method=None, path=None, status=None,
               since=None, after=None, warnings=None, refused=None):
    """The selected requests, oldest first, as a HAR 1.2 log (a file browsers' viewers open)."""
    selected = _selected(operation_id, method, path, status, since, after, warnings, refused)
    log = har(list(reversed(selected)), host_url(), __version__)
    return log, 200, {"Content-Disposition": 'attachment; filename="altoviz-mock-requests.har"'}
