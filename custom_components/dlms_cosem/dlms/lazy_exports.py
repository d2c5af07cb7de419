"""Package exports loaded on first use, so importing a package costs only what its user touches.

The push path, the client and the integration's start each use a small part of the stack; loading
every module a package re-exports would add tens of milliseconds to Home Assistant's start.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping, Sequence
from importlib import import_module


def lazy_exports(
    package: str, exports: Mapping[str, str], namespace: MutableMapping[str, object], names: Sequence[str]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """A package's ``__getattr__`` and ``__dir__`` for ``exports`` (name -> submodule, relative)."""

    def __getattr__(name: str) -> object:  # noqa: N807 - the module-level hook's own name
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        # The absolute name: Home Assistant's check for imports in the event loop lets an import of a
        # module already in sys.modules pass, and a relative name is never found there.
        value = getattr(import_module(f"{package}.{module}"), name)
        namespace[name] = value  # found directly from now on
        return value

    def __dir__() -> list[str]:  # noqa: N807 - the module-level hook's own name
        return sorted({*namespace, *names})

    return __getattr__, __dir__
