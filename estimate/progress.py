"""Progress of long loops, reported through one callback pattern that every estimator shares.

A progress callback is any callable ``progress(task, done, total)``: ``task`` names the loop (``"bootstrap"``,
``"validate"``, ``"starts"`` for multi-start fits), ``done`` counts its finished steps and ``total`` is their
number. A loop reports ``done = 0`` when it starts and then once per step, so a caller can draw one bar per
task. The library never draws anything itself: the ``mixid`` command turns the calls into progress bars on a
terminal (and shows none with ``--json`` or when stderr is not a terminal).

Examples
--------
>>> seen = []
>>> [x * x for x in track(range(3), lambda task, done, total: seen.append((task, done, total)), "squares")]
[0, 1, 4]
>>> seen
[('squares', 0, 3), ('squares', 1, 3), ('squares', 2, 3), ('squares', 3, 3)]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

#: The type of a progress callback: ``progress(task, done, total)``.
Progress = Callable[[str, int, int], None]

T = TypeVar("T")


def track(items: Iterable[T], progress: Progress | None, task: str, total: int | None = None) -> Iterator[T]:
    """Yield ``items``, reporting ``(task, done, total)`` to ``progress`` before the first and after each one.

    ``total`` defaults to ``len(items)``. With ``progress=None`` the items pass through untouched.
    """
    if progress is None:
        yield from items
        return
    if total is None:
        total = len(items)  # type: ignore[arg-type]
    progress(task, 0, total)
    for done, item in enumerate(items, start=1):
        yield item  # the caller's loop body runs here; the step is reported when it asks for the next item
        progress(task, done, total)
