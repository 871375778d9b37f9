"""Cyclic garbage collection paused while a dataset is read or written.

An import builds hundreds of thousands of dicts and lists that stay alive; each 700 new ones
start a collection that walks the young objects, and now and then all of them: a quarter of
a box import's time, for no garbage (shape dicts hold no cycles). Reference counting still
frees everything that is dropped; cycles made meanwhile are collected once it is back on.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Switch the cyclic collector off for the block, and back on after it if it was on.

    The switch is process-wide: other threads collect no cycles meanwhile either (their
    memory is freed by reference counting as usual).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
