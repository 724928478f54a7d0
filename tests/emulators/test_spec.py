"""API descriptions that cannot be served are refused when they are built, with the reason."""

from __future__ import annotations

from typing import Any

import pytest

import restsync.emulators as emulators
from restsync.emulators import (
    ApiSpec,
    BareList,
    BasicAuth,
    EndpointSpec,
    NoPaging,
    OffsetPaging,
    Order,
    ParentLink,
    Setting,
    SingleObject,
    TimeCursorPaging,
)
from restsync.emulators.spec import placeholders

AUTH = BasicAuth("u", "p")
TOP = EndpointSpec("parents", "/parents")


def api(
    *endpoints: EndpointSpec, prefix: str = "/v1", settings: tuple[Setting, ...] = ()
) -> ApiSpec:
    """A minimal API around the given endpoints."""
    return ApiSpec("t", prefix, AUTH, 401, {}, endpoints, settings=settings)


ENDPOINT_CASES: list[tuple[dict[str, Any], str]] = [
    ({"path": "parents"}, "must start with '/'"),
    ({"envelope": SingleObject("x"), "paging": OffsetPaging()}, "cannot be paged"),
    ({"envelope": BareList(), "paging": TimeCursorPaging("t")}, "no room for the pagination"),
    ({"paging": TimeCursorPaging("t"), "order": Order("t")}, "newest first"),
]


@pytest.mark.parametrize(("kwargs", "message"), ENDPOINT_CASES)
def test_invalid_endpoints(kwargs: dict[str, Any], message: str) -> None:
    fields = {"resource": "r", "path": "/r", **kwargs}
    with pytest.raises(ValueError, match=message):
        EndpointSpec(**fields)


API_CASES: list[tuple[dict[str, Any], str]] = [
    ({"endpoints": (TOP, TOP)}, "declared twice"),
    ({"endpoints": (EndpointSpec("c", "/parents/{id}/c"),)}, "need a parent"),
    (
        {"endpoints": (EndpointSpec("c", "/p/{id}/c", parent=ParentLink("parents", "id", "id")),)},
        "must be declared before",
    ),
    (
        {
            "endpoints": (
                TOP,
                EndpointSpec("c", "/p/{id}/c", parent=ParentLink("parents", "id", "x")),
            )
        },
        "not in its path",
    ),
    (
        {
            "endpoints": (
                TOP,
                EndpointSpec("c", "/p/{a}/{b}/c", parent=ParentLink("parents", "id", "a")),
            )
        },
        "come from neither",
    ),
    ({"endpoints": (EndpointSpec("c", "/p/{a}/{a}"),)}, "appears twice"),
    ({"endpoints": (TOP,), "prefix": "/v1/"}, "must start with '/' and not end"),
    ({"endpoints": (TOP,), "prefix": "/{id}"}, "only settings"),
]


@pytest.mark.parametrize(("kwargs", "message"), API_CASES)
def test_invalid_apis(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        api(*kwargs["endpoints"], prefix=kwargs.get("prefix", "/v1"))


def test_a_valid_three_level_api() -> None:
    spec = api(
        TOP,
        EndpointSpec("kids", "/parents/{pid}/kids", parent=ParentLink("parents", "id", "pid")),
        EndpointSpec(
            "toys", "/{ws}/parents/{pid}/kids/{kid}/toys", parent=ParentLink("kids", "id", "kid")
        ),
        prefix="",
        settings=(Setting("ws", "main"),),
    )
    assert spec.params_of("toys") == ("pid", "kid")
    assert spec.default_settings() == {"ws": "main"}
    assert spec.endpoint("toys").paging == NoPaging()
    with pytest.raises(KeyError, match="no resource"):
        spec.endpoint("nope")


def test_placeholders_in_order() -> None:
    assert placeholders("/{a}/x/{b_1}/{C}") == ("a", "b_1", "C")


def test_public_api_is_pinned() -> None:
    expected = {
        "run_emulator", "serve", "EmulatorOptions", "Faults", "available", "get_api", "Served",
        "ApiSpec", "EndpointSpec", "BasicAuth", "BearerAuth", "KeyEnvelope", "HalEnvelope",
        "BareList", "SingleObject", "NoPaging", "OffsetPaging", "PageNumberPaging",
        "TimeCursorPaging", "Filter", "Order", "ParentLink", "Setting", "RateLimitHeaders",
        "ApiDefinition", "Store", "Emulator", "RequestLog", "LoggedRequest", "Outcome",
        "SCENARIOS", "scenario", "Auth", "Envelope", "Paging",
    }  # fmt: skip
    assert set(emulators.__all__) == expected
    assert all(hasattr(emulators, name) for name in emulators.__all__)
