"""route_index.RouteIndex: the candidates of a path, in the order they are to be tried."""

from mock_server.route_index import RouteIndex


def test_candidates_keep_the_given_order_across_literal_and_parameter_heads():
    index = RouteIndex([(3, ("v1", "customers"), "/v1/Customers/Find"), (3, None, "/v1/{kind}/{id}"),
                        (3, ("v1", "customers"), "/v1/Customers/{id}"), (2, ("v1", "customers"), "/v1/Customers")])
    assert index.candidates(3, ("v1", "customers")) == ["/v1/Customers/Find", "/v1/{kind}/{id}", "/v1/Customers/{id}"]
    assert index.candidates(3, ("v1", "products")) == ["/v1/{kind}/{id}"]
    assert index.candidates(2, ("v1", "customers")) == ["/v1/Customers"]
    assert index.candidates(4, ("v1", "customers")) == []
