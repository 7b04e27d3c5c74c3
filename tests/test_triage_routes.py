import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warroom.triage.routes import is_key_flow, normalise_route, normalise_route_expr


@pytest.mark.parametrize(
    ("path", "route"),
    [
        ("/product/123", "/product/{id}"),
        ("/product/123?ref=home#top", "/product/{id}"),
        ("/a/1/2/3", "/a/{id}/{id}/{id}"),
        ("/o/9f1c2e3d-0000-4000-8000-000000000001/items", "/o/{id}/items"),
        ("/blob/3f786850e387550fdab836ed7e6dc881de23001b", "/blob/{id}"),
        (
            "/presentations/logstash-monitorama-2013/x.png",
            "/presentations/logstash-monitorama-2013/x.png",
        ),
        ("//double//slash", "/double/slash"),
        ("http://example.com/a/7", "/a/{id}"),
        ("", "/"),
        ("/", "/"),
    ],
)
def test_normalise_route_folds_ids_and_drops_queries(path, route):
    assert normalise_route(path) == route


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["a", "17", "cart", "deadbeef99", "x-1", "", "?q=1"]), max_size=6))
def test_polars_expression_agrees_with_python(parts):
    path = "/" + "/".join(parts)
    got = pl.DataFrame({"p": [path]}).select(normalise_route_expr(pl.col("p")))[0, 0]
    assert got == normalise_route(path)


def test_key_flows_are_recognised():
    assert is_key_flow("/checkout") and is_key_flow("/api/payment/{id}")
    assert not is_key_flow("/search")
