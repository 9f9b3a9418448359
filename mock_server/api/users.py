"""/v1/Users/me and /v1/Users/whoami: the user the API key belongs to."""

from ._http import domain, present


def get_me():
    return present("User", domain().reference.user)


def who_am_i():
    return present("User", domain().reference.user)
