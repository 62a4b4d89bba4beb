"""The company keys the look-alike check compares a new company with, kept in memory.

Saving a new customer asks "is this someone we already have, typed differently?"
(bot/followups.py, find_similar_customer), which means comparing the new company with every
company key in use. At 100,000 customers (~40,000 distinct keys) reading them on each save cost
0.3 s and the fuzzy comparison 10–25 ms more (bench/latency.py; docs/benchmarks.md). So:

- The keys are kept per database (connection pool) and topped up before each use with the
  companies of customers changed since the newest change already seen (a covering index on
  `updated_at`), from OVERLAP before it, since a save stamps its time before it commits. A
  company saved or renamed by any bot instance is therefore seen by the next check anywhere.
  Writers that stamp a time well before they commit (an import stamps the time it started) are
  caught by a full reload every RELOAD_SECONDS.
- A stale key costs nothing but a comparison: the customers themselves are always read from the
  database, and customers_with_company_keys skips erased ones.
- Before rapidfuzz's partial_ratio runs, a vectorised test over per-key character masks drops
  the keys that cannot reach the threshold (see `_could_reach`): the same keys come out,
  ~20 times fewer are scored.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Final

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, process
from sqlalchemy import Pool
from sqlalchemy.orm import Session

from bot.matching import SAME_COMPANY_THRESHOLD, close_company_keys
from storage import queries

RELOAD_SECONDS: Final = 300.0
# A save commits within seconds of stamping updated_at (Slack wants its answer in 3; database
# waits give up after 2): look back this far for rows committed late. Anything later still, or an
# instance whose clock is this far behind, is caught by the reload.
OVERLAP: Final = timedelta(seconds=10)
MOST_SIMILAR: Final = 20

_MASK_BITS: Final = 64


def _bit(character: str) -> int:
    return 1 << (ord(character) % _MASK_BITS)


def _lengths(keys: Sequence[str]) -> npt.NDArray[np.int64]:
    return np.fromiter((len(key) for key in keys), dtype=np.int64, count=len(keys))


def _masks(keys: Sequence[str]) -> npt.NDArray[np.uint64]:
    return np.fromiter((_mask(key) for key in keys), dtype=np.uint64, count=len(keys))


def _mask(key: str) -> int:
    """The characters of `key` as a 64-bit set; characters may share a bit, never lose one."""
    mask = 0
    for character in set(key):
        mask |= _bit(character)
    return mask


class CompanyKeys:
    """Every company key of one database, with what the pre-filter needs about each. Never
    changed once built (checks read it without a lock): `extended` makes the next one."""

    def __init__(
        self,
        keys: Sequence[str] = (),
        lengths: npt.NDArray[np.int64] | None = None,
        masks: npt.NDArray[np.uint64] | None = None,
    ) -> None:
        self.keys: tuple[str, ...] = tuple(keys)
        self._lengths = _lengths(self.keys) if lengths is None else lengths
        self._masks = _masks(self.keys) if masks is None else masks

    def extended(self, new: Sequence[str]) -> CompanyKeys:
        """These keys too (the caller knows they are new)."""
        if not new:
            return self
        return CompanyKeys(
            self.keys + tuple(new),
            np.concatenate((self._lengths, _lengths(new))),
            np.concatenate((self._masks, _masks(new))),
        )

    def similar(self, key: str, *, limit: int = MOST_SIMILAR) -> list[str]:
        """Other keys close enough to `key` for likely_same_customer to call the companies one,
        at most `limit`, in order."""
        if not key:
            return []
        maybe = [self.keys[index] for index in np.flatnonzero(self._could_reach(key))]
        survivors = {
            candidate
            for candidate, _, _ in process.extract(
                key,
                maybe,
                scorer=fuzz.partial_ratio,
                score_cutoff=SAME_COMPANY_THRESHOLD,
                limit=None,
            )
            if candidate and candidate != key
        }
        return close_company_keys(survivors, key)[:limit]

    def _could_reach(self, key: str) -> npt.NDArray[np.bool_]:
        """Which keys could score ≥ SAME_COMPANY_THRESHOLD with `key` under partial_ratio.

        partial_ratio slides the shorter string (the needle, m characters) over the longer and
        scores 200·LCS / (m + window); with at most L of the needle's characters present in the
        other string at all, no window scores more than 200·L / (m + L). Characters missing
        from the other string's mask are certainly missing (a shared bit only hides a miss), so
        L = m − missing is an upper bound, and a key is dropped only when even that is short.
        """
        length = len(key)
        key_mask = np.uint64(_mask(key))
        # The key as the needle: each of its characters the other lacks, as often as it occurs.
        key_missing = np.zeros(len(self._masks), dtype=np.int64)
        for character, count in Counter(key).items():
            lacks = (self._masks & np.uint64(_bit(character))) == 0
            key_missing += count * lacks.astype(np.int64)
        # The other as the needle: each distinct character absent from the key misses at least once.
        other_missing = np.bitwise_count(self._masks & ~key_mask).astype(np.int64)
        missing = np.where(
            self._lengths > length,
            key_missing,
            np.where(self._lengths < length, other_missing, np.minimum(key_missing, other_missing)),
        )
        needle = np.minimum(self._lengths, length)
        present = needle - missing
        reachable: npt.NDArray[np.bool_] = 200 * present >= SAME_COMPANY_THRESHOLD * (
            needle + present
        )
        return reachable


class _CachedKeys:
    """One database's CompanyKeys, reloaded every RELOAD_SECONDS and topped up in between."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys = CompanyKeys()
        self._known: set[str] = set()
        self._newest_change: datetime | None = None
        self._loaded_at: float | None = None

    def current(self, session: Session) -> CompanyKeys:
        with self._lock:
            if self._due_for_reload():
                keys, self._newest_change = queries.company_keys_in_use(session)
                self._keys = CompanyKeys(keys)
                self._known = set(keys)
                self._loaded_at = time.monotonic()
            elif self._newest_change is not None:
                self._top_up(session, self._newest_change - OVERLAP)
            return self._keys

    def _due_for_reload(self) -> bool:
        # With no customer yet there is nothing to continue from: reading everything is free.
        return (
            self._loaded_at is None
            or self._newest_change is None
            or time.monotonic() - self._loaded_at >= RELOAD_SECONDS
        )

    def _top_up(self, session: Session, since: datetime) -> None:
        new: list[str] = []
        for key, changed_at in queries.company_keys_changed_since(session, since):
            if self._newest_change is None or changed_at > self._newest_change:
                self._newest_change = changed_at
            if key not in self._known:
                self._known.add(key)
                new.append(key)
        self._keys = self._keys.extended(new)


# Keyed by connection pool: a Database's reading and writing sessions use two Engine objects
# (execution options) over one pool, and should share one cache.
_by_pool: weakref.WeakKeyDictionary[Pool, _CachedKeys] = weakref.WeakKeyDictionary()
_by_pool_lock = threading.Lock()


def company_keys(session: Session) -> CompanyKeys:
    """This database's company keys, up to date with every committed save (see the module)."""
    pool = session.get_bind().engine.pool
    with _by_pool_lock:
        cached = _by_pool.setdefault(pool, _CachedKeys())
    return cached.current(session)
