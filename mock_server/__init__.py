"""altoviz-mock: a local, stateful sandbox of the Altoviz invoicing API."""

__version__ = "0.1.0"
