"""Heavy libraries imported on first use, not when the converters package is imported.

numpy, Pillow and pycocotools are needed only for masks, polygons and image files; a box
conversion never touches them, and importing them costs about 25 MiB of memory and a
quarter of a second before the first byte is read::

    np = lazy_module("numpy")
    np.zeros(3)  # numpy is imported here
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule:
    """Stands for a module and imports it when one of its attributes is first read.

    Args:
        name: the module's full name, such as ``"pycocotools.mask"``.
    """

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attribute: str) -> Any:
        # Called only for names not found on the proxy itself; the import system's own
        # locks make a first use from two threads safe.
        module = self._module
        if module is None:
            module = self._module = importlib.import_module(self._name)
        return getattr(module, attribute)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"


def lazy_module(name: str) -> Any:
    """Return a stand-in for the module ``name`` that imports it on first attribute access.

    Args:
        name: the module's full name.

    Returns:
        A :class:`LazyModule` (typed ``Any`` so that callers use it as the module).
    """
    return LazyModule(name)
