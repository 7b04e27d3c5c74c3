"""Route normalisation: fold ids out of URL paths so requests group by endpoint.

>>> normalise_route("/product/123?ref=home")
'/product/{id}'
"""

from __future__ import annotations

import re

import polars as pl

# A path segment that is an identifier: digits, a UUID, or a hex string of 8+ characters
# (hashes, object ids). Words of only a-f letters that long do not occur in real routes.
_ID_SEGMENT = (
    r"(?:\d+|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|[0-9a-fA-F]{8,})"
)
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_ID_RE = re.compile(rf"/{_ID_SEGMENT}(/|$)")
# fingerprinted file names: "app.3f2a1b9c.js", "app.123.js" (an id between dots) and
# "chunk-3f2a1b9c.js" (a hash after a dash, before the extension)
_DOT_ID = rf"\.{_ID_SEGMENT}\."
_DASH_HASH = rf"-(?:{_UUID}|[0-9a-fA-F]{{8,}})\."
_DOT_ID_RE = re.compile(_DOT_ID)
_DASH_HASH_RE = re.compile(_DASH_HASH)
_QUERY_RE = re.compile(r"[?#].*$")
_SLASHES_RE = re.compile(r"/{2,}")
ID_PLACEHOLDER = "{id}"


def normalise_route(path: str) -> str:
    """Drop the query string and replace id-like segments by `{id}`, and ids inside file
    names (between dots, or a hash after a dash before the extension).

    >>> normalise_route("/api/orders/9f1c2e3d-0000-4000-8000-000000000001/items/7")
    '/api/orders/{id}/items/{id}'
    """
    if not path:
        return "/"
    route = _QUERY_RE.sub("", path)
    if route.startswith(("http://", "https://")):
        # absolute-form request target (proxies): keep only the path
        route = "/" + route.split("/", 3)[3] if route.count("/") >= 3 else "/"
    route = _SLASHES_RE.sub("/", route)
    # twice, because adjacent id segments share the slash between them
    for _ in range(2):
        route = _ID_RE.sub(rf"/{ID_PLACEHOLDER}\1", route)
    if "." in route:
        for _ in range(2):  # adjacent ids share the dot between them
            route = _DOT_ID_RE.sub(f".{ID_PLACEHOLDER}.", route)
        route = _DASH_HASH_RE.sub(f"-{ID_PLACEHOLDER}.", route)
    return route or "/"


def normalise_route_expr(path: pl.Expr) -> pl.Expr:
    """The same normalisation as `normalise_route`, as a vectorised polars expression."""
    route = path.str.replace(r"[?#].*$", "")
    route = route.str.replace(r"^https?://[^/]*", "")
    route = route.str.replace_all(r"/{2,}", "/")
    pattern = rf"/{_ID_SEGMENT}(/|$)"
    for _ in range(2):
        route = route.str.replace_all(pattern, "/{id}$1")
    for _ in range(2):
        route = route.str.replace_all(_DOT_ID, ".{id}.")
    route = route.str.replace_all(_DASH_HASH, "-{id}.")
    # `route` is referenced once: a when/then/otherwise on it would evaluate the chain thrice
    return route.str.replace(r"^$", "/").fill_null("/")


KEY_FLOW_WORDS = frozenset(
    {"checkout", "payment", "payments", "pay", "cart", "basket", "login", "signin", "sign-in"}
)


def is_key_flow(route: str) -> bool:
    """True for routes of key business flows (checkout, payment, cart, login)."""
    return any(seg.lower() in KEY_FLOW_WORDS for seg in route.strip("/").split("/"))
