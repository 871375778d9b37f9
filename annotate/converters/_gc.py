"""Cyclic garbage collection paused while a dataset is read or written.

An import builds hundreds of thousands of dicts and lists that stay alive; each 700 new ones
start a collection that walks the young objects, and now and then all of them: a quarter of
a box import's time, for no garbage (shape dicts hold no cycles). Reference counting still
frees everything that is dropped; cycles made meanwhile are collected once it is back on.

Switching the collector back on would still cost one walk over everything the block made:
the objects stay "young" and the first allocation after the block collects them all (a tenth
of a box conversion). They are moved to the oldest generation instead (``gc.freeze`` then
``gc.unfreeze``, two list splices), as if they had survived the young collections they
would have: the next full collection walks them, as it walks everything.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Switch the cyclic collector off for the block, and back on after it if it was on.

    The switch is process-wide: other threads collect no cycles meanwhile either (their
    memory is freed by reference counting as usual). Objects made meanwhile end in the
    oldest generation; when the process had frozen objects itself (``gc.freeze``), they are
    left frozen and the block's objects stay young.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            if gc.get_freeze_count() == 0:
                gc.freeze()
                gc.unfreeze()
            gc.enable()
