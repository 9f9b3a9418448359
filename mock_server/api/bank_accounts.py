"""/v1/BankAccounts"""

from ._http import domain, present


def providers(query=None):
    return present("BankProvider", domain().reference.search_bank_providers(query))
