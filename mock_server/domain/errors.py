"""Every error the API answers, named once, with its HTTP status (moto's exceptions.py)."""


class DomainError(Exception):
    """An error the client caused; rendered by the HTTP layer with `status` and `title`."""

    status = 400
    title = "Bad Request"

    def __init__(self, detail: str, errors: list[str] | None = None):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or [detail]


class InvalidRequest(DomainError):
    """Input the schema accepts but a business rule refuses (unknown VAT rate, bad reference...)."""


class WrongState(DomainError):
    """The resource exists but its state forbids the operation (e.g. updating a finalized invoice)."""


class Conflict(DomainError):
    """The operation would break what other resources rely on (deleting a family still in use)."""

    status = 409
    title = "Conflict"


class NotFound(DomainError):
    """No resource of that kind with that id (or internal id) in the caller's tenant."""

    status = 404
    title = "Not Found"

    def __init__(self, kind: str, key: object, field: str = "id"):
        super().__init__(f"{kind} with {field} {key!r} was not found")
        self.kind = kind
        self.key = key


class PayloadTooLarge(DomainError):
    """An upload over the sandbox's size limit for its kind."""

    status = 413
    title = "Content Too Large"
