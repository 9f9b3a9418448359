"""/v1/Classifications"""

from ._http import domain, present


def list_(type_=None):
    return present("Classification", domain().reference.list_classifications(type_))
