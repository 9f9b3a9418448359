"""Pure unit tests of the list semantics every list operation shares, and of address normalisation."""

import random

import pytest

from mock_server.domain import listing
from mock_server.domain.addresses import normalize_address


# --- fold ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, folded", [
    ("Société Générale", "societe generale"),
    ("ÉCOLE NATIONALE", "ecole nationale"),
    ("Œuvre d'Açaí", "œuvre d'acai"),
    ("Straße", "strasse"),
    ("ﬁnance", "finance"),
    ("déjà-vu 2024", "deja-vu 2024"),
    ("", ""),
])
def test_fold_lowers_and_strips_accents(text, folded):
    assert listing.fold(text) == folded


# --- search ----------------------------------------------------------------------------------------------

PEOPLE = [
    {"id": 1, "name": "Boulangerie Martin", "email": "claire@martin.fr", "address": {"city": "Lyon", "zipcode": "69002"}},
    {"id": 2, "name": "Épicerie Lefèvre", "email": None, "address": {"city": "Saint-Étienne", "zipcode": "42000"}},
    {"id": 3, "name": "Martin Conseil", "email": "paul@martin-conseil.fr", "address": None},
    {"id": 4, "name": None, "email": "anonyme@example.fr", "address": "pas un objet"},
]
FIELDS = ("name", "email", "address.city", "address.zipcode")


def ids(items):
    return [item["id"] for item in items]


@pytest.mark.parametrize("query, expected", [
    (None, [1, 2, 3, 4]),
    ("", [1, 2, 3, 4]),
    ("   ", [1, 2, 3, 4]),
    ("martin", [1, 3]),
    ("MARTIN lyon", [1]),
    ("martin  conseil", [3]),
    ("epicerie saint-etienne", [2]),
    ("ÉPICERIE", [2]),
    ("69002", [1]),
    ("42", [2]),
    ("example.fr", [4]),
    ("martin nowhere", []),
    ("objet", []),
])
def test_search_keeps_items_where_every_term_occurs_in_some_field(query, expected):
    assert ids(listing.search(PEOPLE, query, FIELDS)) == expected


def test_search_looks_only_at_the_given_fields():
    assert ids(listing.search(PEOPLE, "lyon", ("name", "email"))) == []
    assert ids(listing.search(PEOPLE, "lyon", ("address.city",))) == [1]


def test_search_terms_may_match_in_different_fields():
    assert ids(listing.search(PEOPLE, "claire lyon 69002", FIELDS)) == [1]


def test_search_reads_numbers_as_text():
    items = [{"id": 1, "price": 1250.5}, {"id": 2, "price": 99}]
    assert ids(listing.search(items, "1250", ("price",))) == [1]


def test_search_accepts_any_iterable():
    assert ids(listing.search(iter(PEOPLE), "martin", FIELDS)) == [1, 3]


# --- order -----------------------------------------------------------------------------------------------

ROWS = [
    {"id": 1, "name": "zèbre", "city": None, "amount": 10},
    {"id": 2, "name": "Âne", "city": "Paris", "amount": 2.5},
    {"id": 3, "name": "chat", "city": "lyon", "amount": None},
    {"id": 4, "name": "Baleine", "city": None, "amount": 10},
    {"id": 5, "name": "aigle", "city": "Annecy", "amount": -3},
]


@pytest.mark.parametrize("order_by", ["name", "Name", "NAME asc", " name "])
def test_order_by_text_ignores_case_and_accents(order_by):
    assert ids(listing.order(ROWS, order_by)) == [5, 2, 4, 3, 1]


@pytest.mark.parametrize("order_by", ["-name", "name desc", "NAME DESC", "- name"])
def test_order_descending(order_by):
    assert ids(listing.order(ROWS, order_by)) == [1, 3, 4, 2, 5]


def test_nulls_come_last_in_both_directions():
    assert ids(listing.order(ROWS, "city")) == [5, 3, 2, 1, 4]
    assert ids(listing.order(ROWS, "-city")) == [2, 3, 5, 1, 4]
    assert ids(listing.order(ROWS, "amount")) == [5, 2, 1, 4, 3]
    assert ids(listing.order(ROWS, "-amount")) == [1, 4, 2, 5, 3]


def test_ties_keep_id_order_in_both_directions():
    shuffled = ROWS[:]
    random.Random(7).shuffle(shuffled)
    assert ids(listing.order(shuffled, "amount"))[2:4] == [1, 4]
    assert ids(listing.order(shuffled, "-amount"))[:2] == [1, 4]


def test_a_field_missing_from_some_items_sorts_them_as_nulls():
    items = [{"id": 1}, {"id": 2, "rank": 2}, {"id": 3, "rank": 1}]
    assert ids(listing.order(items, "rank")) == [3, 2, 1]
    assert ids(listing.order(items, "-rank")) == [2, 3, 1]


@pytest.mark.parametrize("order_by, expected", [
    (None, [1, 2, 3, 4, 5]),
    ("", [1, 2, 3, 4, 5]),
    ("noSuchField", [1, 2, 3, 4, 5]),
    ("name.first", [1, 2, 3, 4, 5]),
    # The field falls back to id; the direction asked for is kept.
    ("-noSuchField", [5, 4, 3, 2, 1]),
])
def test_unknown_or_missing_field_sorts_by_id(order_by, expected):
    shuffled = ROWS[:]
    random.Random(3).shuffle(shuffled)
    assert ids(listing.order(shuffled, order_by)) == expected


def test_order_by_booleans_puts_false_first():
    items = [{"id": 1, "active": True}, {"id": 2, "active": False}, {"id": 3, "active": None}]
    assert ids(listing.order(items, "active")) == [2, 1, 3]
    assert ids(listing.order(items, "-active")) == [1, 2, 3]


def test_order_of_nothing_is_nothing():
    assert listing.order([], "name") == []


@pytest.mark.parametrize("order_by, expected", [
    ("number", ("number", False)),
    ("-number", ("number", True)),
    ("number desc", ("number", True)),
    ("number ASC", ("number", False)),
    ("", ("", False)),
    (None, ("", False)),
])
def test_parse_order_by(order_by, expected):
    assert listing.parse_order_by(order_by) == expected


# --- page ------------------------------------------------------------------------------------------------

MANY = [{"id": i} for i in range(1, 2501)]


@pytest.mark.parametrize("page_index, page_size, first, count", [
    (None, None, 1, 100),
    (1, 10, 1, 10),
    (3, 10, 21, 10),
    (0, 10, 1, 10),
    (-4, 10, 1, 10),
    (2, 0, 101, 100),
    (1, -5, 1, 100),
    (1, 5000, 1, 1000),
    (2, 5000, 1001, 1000),
    (3, 5000, 2001, 500),
    (1, 1000, 1, 1000),
    (1, 1001, 1, 1000),
    (250, 10, 2491, 10),
    (251, 10, None, 0),
])
def test_page_follows_the_documented_paging(page_index, page_size, first, count):
    page = listing.page(MANY, page_index, page_size)
    assert len(page) == count
    if count:
        assert page[0]["id"] == first
        assert ids(page) == list(range(first, first + count))


def test_listing_searches_then_orders_then_pages():
    result = listing.listing(PEOPLE, query="martin", fields=FIELDS, order_by="-name", page_index=1, page_size=1)
    assert ids(result) == [3]
    result = listing.listing(PEOPLE, query="martin", fields=FIELDS, order_by="-name", page_index=2, page_size=1)
    assert ids(result) == [1]


# --- addresses -------------------------------------------------------------------------------------------

def test_normalize_address_derives_the_read_only_fields():
    address = normalize_address({"street": "12 rue de la République", "zipcode": "69002", "city": "Lyon", "countryIso": "fr"})
    assert address == {
        "street": "12 rue de la République",
        "zipcode": "69002",
        "city": "Lyon",
        "countryIso": "FR",
        "countryName": "France",
        "formattedAddress": "12 rue de la République\n69002 Lyon\nFRANCE",
        "inlineAddress": "12 rue de la République, 69002 Lyon, France",
    }


def test_normalize_address_replaces_read_only_fields_sent_by_the_client():
    address = normalize_address({"city": "Bruxelles", "countryIso": "BE", "countryName": "Forged",
                                 "inlineAddress": "Forged", "formattedAddress": "Forged"})
    assert address["countryName"] == "Belgique"
    assert address["inlineAddress"] == "Bruxelles, Belgique"
    assert address["formattedAddress"] == "Bruxelles\nBELGIQUE"
    assert address["street"] is None and address["zipcode"] is None


def test_normalize_address_with_an_unknown_country():
    address = normalize_address({"street": "1 Main Street", "city": "Springfield", "countryIso": "zz"})
    assert address["countryIso"] == "ZZ" and address["countryName"] is None
    assert address["formattedAddress"] == "1 Main Street\nSpringfield"
    assert address["inlineAddress"] == "1 Main Street, Springfield"


@pytest.mark.parametrize("given", [{}, {"countryIso": ""}, {"street": None, "zipcode": None, "city": None, "countryIso": None}])
def test_an_empty_address_has_no_derived_fields(given):
    assert normalize_address(given) == {key: None for key in (
        "street", "zipcode", "city", "countryIso", "countryName", "formattedAddress", "inlineAddress")}


def test_no_address_stays_none():
    assert normalize_address(None) is None


def test_normalize_address_does_not_change_what_it_was_given():
    given = {"street": "1 place Bellecour", "zipcode": "69002", "city": "Lyon", "countryIso": "fr"}
    copy = dict(given)
    normalize_address(given)
    assert given == copy


def test_normalize_address_is_idempotent():
    once = normalize_address({"street": "Calle Mayor 5", "zipcode": "28013", "city": "Madrid", "countryIso": "ES"})
    assert normalize_address(once) == once
