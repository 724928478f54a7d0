"""The built-in emulated APIs, by name; each lives in its own module as an `API` constant."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from restsync.emulators.spec import ApiSpec
from restsync.emulators.store import Store
from restsync.errors import UnknownConnectorError

__all__ = ["ApiDefinition", "available", "get_api"]

# name -> module defining `API: ApiDefinition`; a new API module adds one line here.
_MODULES: dict[str, str] = {
    "bi_workspace": "restsync.emulators.bi_workspace",
    "commerce": "restsync.emulators.commerce",
    "feature_flags": "restsync.emulators.feature_flags",
    "hosting": "restsync.emulators.hosting",
    "product_analytics": "restsync.emulators.product_analytics",
}


@dataclass(frozen=True)
class ApiDefinition:
    """An emulated API: its wire description and a deterministic generator of its data."""

    spec: ApiSpec
    build_store: Callable[[int, int], Store]
    description: str = ""

    @property
    def name(self) -> str:
        """The API's name, as `available()` lists it."""
        return self.spec.name

    @property
    def credentials(self) -> dict[str, str]:
        """The credentials the emulator accepts, under the names a client's config uses."""
        return self.spec.auth.credentials()


def available() -> list[str]:
    """Names of the built-in emulated APIs, sorted, for CLIs and parametrized tests."""
    return sorted(_MODULES)


def get_api(name: str) -> ApiDefinition:
    """The built-in API called `name`; UnknownConnectorError lists the known ones."""
    module_name = _MODULES.get(name)
    if module_name is None:
        raise UnknownConnectorError(f"no emulator named '{name}'; available: {available()}")
    api = importlib.import_module(module_name).API
    if not isinstance(api, ApiDefinition):
        raise TypeError(f"{module_name}.API is not an ApiDefinition")
    return api
