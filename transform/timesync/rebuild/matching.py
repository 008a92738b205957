"""Pairing entries of two sides by fingerprint, for `timesync ledger rebuild`. Pure: no ledger, no API.

A fingerprint is what the sync itself finds a twin by after a crash (person, date, task, minutes, note), with both
sides' ids translated into one side's terms by the caller. Only a fingerprint held by exactly one entry on each
side is a pair. Everything that could be a guess is parked for a person instead: several entries sharing a
fingerprint, or entries that agree on person, date and task but differ in minutes or note (one side was edited
while the ledger was lost, or they are two different entries). What is left has no twin and is new.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

#: person, date, task ("-" for none), minutes, note: as `TimeEntry.fingerprint` orders them.
Fingerprint = tuple[str, str, str, int, str]


class ParkReason(StrEnum):
    """Why a group of entries was parked instead of paired."""

    DUPLICATES = "duplicates"  # several entries on one side share the fingerprint: which is whose twin is a guess
    NEAR_MATCH = "near_match"  # same person, date and task, but the minutes or the note differ
    # Same person and date, both project time (a TimeLog task Forecast lacks): maybe twins, one edited while the
    # ledger was lost, maybe two entries. Neither paired nor left to the sync, which would create both again.
    SAME_DAY = "same_day"


@dataclass(frozen=True, slots=True)
class Keyed:
    """One entry to match: its native id and its fingerprint in the shared terms."""

    id: str
    fingerprint: Fingerprint

    @property
    def near_key(self) -> tuple[str, str, str]:
        """What a near match shares: person, date and task."""
        return self.fingerprint[:3]


@dataclass(frozen=True, slots=True)
class Parked:
    """Entries of both sides that may be each other's twins, left for a person to settle."""

    reason: ParkReason
    left: tuple[str, ...]
    right: tuple[str, ...]


@dataclass
class Matching:
    """Every input entry ends up in exactly one of these."""

    paired: list[tuple[str, str]] = field(default_factory=list)  # (left id, right id)
    parked: list[Parked] = field(default_factory=list)
    unmatched_left: list[str] = field(default_factory=list)
    unmatched_right: list[str] = field(default_factory=list)


def match(left: Sequence[Keyed], right: Sequence[Keyed], *,
          near: ParkReason | None = ParkReason.NEAR_MATCH) -> Matching:
    """Pair ``left`` and ``right`` entries whose fingerprints are equal and unique; park the ambiguous.

    Near matches are looked for only among what exact matching left over: two different entries of one person on
    one task and day (a meeting and a review) are each paired by their own fingerprint first. ``near`` is the
    reason they are parked with (``SAME_DAY`` in terms where person, date and task do not tell entries apart);
    None parks none and leaves them unmatched.
    """
    result = Matching()
    exact: dict[Fingerprint, tuple[list[str], list[str]]] = defaultdict(lambda: ([], []))
    for entry in left:
        exact[entry.fingerprint][0].append(entry.id)
    for entry in right:
        exact[entry.fingerprint][1].append(entry.id)
    leftover: dict[tuple[str, str, str], tuple[list[str], list[str]]] = defaultdict(lambda: ([], []))
    for fingerprint, (lefts, rights) in exact.items():
        if len(lefts) == 1 and len(rights) == 1:
            result.paired.append((lefts[0], rights[0]))
        elif lefts and rights:
            result.parked.append(Parked(ParkReason.DUPLICATES, tuple(lefts), tuple(rights)))
        else:
            group = leftover[fingerprint[:3]]
            group[0].extend(lefts)
            group[1].extend(rights)
    for lefts, rights in leftover.values():
        if near is not None and lefts and rights:
            result.parked.append(Parked(near, tuple(lefts), tuple(rights)))
        else:
            result.unmatched_left += lefts
            result.unmatched_right += rights
    return result


def combine(first: Matching, second: Matching) -> Matching:
    """A first matching with a second one made of its unmatched entries (matched in other terms)."""
    return Matching(paired=first.paired + second.paired, parked=first.parked + second.parked,
                    unmatched_left=second.unmatched_left, unmatched_right=second.unmatched_right)


def only(entries: Iterable[Keyed], ids: Iterable[str]) -> list[Keyed]:
    """The entries whose id is among ``ids``, in their order."""
    wanted = set(ids)
    return [entry for entry in entries if entry.id in wanted]
