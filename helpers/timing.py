"""One timing protocol for every competitor, in every notebook and study.

A timing that compares two methods is only fair if both were timed the same way. ``timed`` is
that way: an optional warm-up call that is not timed (compilation, caches), then ``repeats``
timed calls, one after the other in this process, and the *best* of them (the least disturbed
by whatever else the machine did; ``median`` is kept beside it). ``Timing.protocol`` says all
of that in words, so that a table can print it next to the figure.

Rules the callers keep: every competitor in one comparison gets the same ``repeats``; nothing
else runs in the process meanwhile (no ``n_jobs`` > 1 beside a timed fit, no two fits at once);
a figure from another machine or another run is context, never a claim.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Timing:
    """The seconds of ``repeats`` timed calls after ``warmups`` untimed ones, and the last result."""

    seconds: tuple  # each timed call's wall-clock seconds, in order
    warmups: int
    result: object = field(default=None, repr=False, compare=False)

    @property
    def best(self):
        return min(self.seconds)

    @property
    def median(self):
        return statistics.median(self.seconds)

    @property
    def repeats(self):
        return len(self.seconds)

    @property
    def protocol(self):
        """The protocol in words: 'best of 3 after 1 warm-up', 'once, no warm-up'."""
        runs = "once" if self.repeats == 1 else f"best of {self.repeats}"
        warm = "no warm-up" if not self.warmups else (
            f"after {self.warmups} warm-up" + ("s" if self.warmups > 1 else ""))
        return f"{runs}, {warm}"


def timed(call, *, repeats=1, warmup=None, warmups=None):
    """Time ``call()`` under the protocol: ``warmup()`` (or ``call`` itself if ``warmups`` is set
    and ``warmup`` is not) run untimed first, then ``repeats`` timed calls of ``call``.

    Returns a ``Timing``; its ``result`` is the last call's return value (a fitted model, say).
    A fit that changes its estimator's state is best re-created inside ``call``, so that each
    repeat does the same work.
    """
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"`repeats` must be a positive integer. Received repeats={repeats!r}")
    if warmups is None:
        warmups = 1 if warmup is not None else 0
    if isinstance(warmups, bool) or not isinstance(warmups, int) or warmups < 0:
        raise ValueError(f"`warmups` must be an integer >= 0. Received warmups={warmups!r}")
    for _ in range(warmups):
        (warmup or call)()
    seconds, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = call()
        seconds.append(time.perf_counter() - start)
    return Timing(tuple(seconds), warmups, result)


def warm_up_keras_fit(model, x, y, *, batch_size, validation_split=0.0):
    """Compile ``model``'s training step (and its validation pass) for the batch shapes that
    ``model.fit(x, y, batch_size=..., validation_split=...)`` will see, then undo the updates.

    The warm-up every timed Keras fit gets, so that no fit's clock holds compilation.
    Returns its seconds.
    """
    import math

    from helpers import models

    n_fit = int(math.floor(len(x) * (1.0 - validation_split))) if validation_split else len(x)
    validation_data = None
    if validation_split:  # the last rows, as Keras takes them; full and partial batch shapes
        n_val = len(x) - n_fit
        rows = min(n_val, batch_size + n_val % batch_size)
        validation_data = (x[-rows:], y[-rows:])
    return models.warm_up_fit(model, x, y, batch_size, n_fit=n_fit, validation_data=validation_data)
