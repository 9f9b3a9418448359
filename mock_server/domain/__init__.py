"""Pure business rules of the sandbox: no Flask, no TinyDB, unit-testable without a server."""
