"""/v1/Settings"""

from ._http import domain, present


def get():
    return present("Settings", domain().reference.settings)
