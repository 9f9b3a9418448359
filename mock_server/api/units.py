"""/v1/Units"""

from ._http import domain, present


def list_():
    return present("Unit", domain().reference.units)
