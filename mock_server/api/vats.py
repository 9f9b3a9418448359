"""/v1/Vats"""

from ._http import domain, present


def list_():
    return present("Vat", domain().reference.vats)
