"""Counter-based random streams shared by every part of hepbump.

A computation that must give the same numbers however its input is split into chunks (coffea processors with
any executor and chunk size) draws from :func:`event_rng`: a Philox generator keyed by ``(seed, stream)`` and
positioned at the counter of a given event, when each event consumes a fixed number of uniforms. Streams are
named by :func:`stream_key` (for example a file's base name), so they do not depend on where files live.

>>> a = event_rng(1, 7, 0, draws_per_event=8).random((5, 8))
>>> b = event_rng(1, 7, 3, draws_per_event=8).random((2, 8))
>>> bool(np.array_equal(a[3:], b))
True
"""

from __future__ import annotations

import zlib

import numpy as np

from hepbump.errors import InputError

__all__ = ["PHILOX_WORDS_PER_BLOCK", "stream_key", "event_rng"]

#: 64-bit words per Philox-4x64 block: ``Generator.random()`` consumes one word per double.
PHILOX_WORDS_PER_BLOCK = 4


def stream_key(name: str) -> int:
    """A stable 32-bit key for a named random stream (for example a file's base name).

    >>> stream_key("sig.root") == stream_key("sig.root"), stream_key("a.root") == stream_key("b.root")
    (True, False)
    """
    return zlib.crc32(name.encode("utf-8"))


def event_rng(
    seed: int, stream: int | tuple[int, ...] = 0, first_entry: int = 0, *, draws_per_event: int
) -> np.random.Generator:
    """A counter-based (Philox) generator positioned at event ``first_entry`` of stream ``stream``.

    The caller consumes exactly ``draws_per_event`` uniforms (``Generator.random``) per event, in event order,
    and ``draws_per_event`` is a multiple of :data:`PHILOX_WORDS_PER_BLOCK`; then drawing for entries [a, b) from
    ``event_rng(seed, s, a, ...)`` gives the same numbers as drawing for [0, b) in one go and keeping the tail.
    """
    if first_entry < 0:
        raise InputError(f"first_entry must be >= 0, got {first_entry}")
    if draws_per_event < 1 or draws_per_event % PHILOX_WORDS_PER_BLOCK:
        raise InputError(
            f"draws_per_event must be a positive multiple of {PHILOX_WORDS_PER_BLOCK}, got {draws_per_event}"
        )
    spawn = stream if isinstance(stream, tuple) else (stream,)
    key = np.random.SeedSequence(int(seed), spawn_key=tuple(int(s) for s in spawn)).generate_state(2, np.uint64)
    counter = [(draws_per_event // PHILOX_WORDS_PER_BLOCK) * int(first_entry), 0, 0, 0]
    return np.random.Generator(np.random.Philox(key=key, counter=counter))
