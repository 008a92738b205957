"""The fingerprint matcher of `timesync ledger rebuild`: it pairs only what is certain and never guesses."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from timesync.rebuild.matching import Keyed, Matching, Parked, ParkReason, combine, match

DAY = "2026-11-16"


def _entry(entry_id: str, minutes: int = 60, note: str = "work", *, person: str = "1", day: str = DAY,
           task: str = "10") -> Keyed:
    return Keyed(entry_id, (person, day, task, minutes, note))


def test_equal_unique_fingerprints_are_paired() -> None:
    """One entry on each side with the same person, date, task, minutes and note: that is the twin."""
    result = match([_entry("f1"), _entry("f2", 30, "review")], [_entry("t2", 30, "review"), _entry("t1")])
    assert sorted(result.paired) == [("f1", "t1"), ("f2", "t2")]
    assert (result.parked, result.unmatched_left, result.unmatched_right) == ([], [], [])


def test_two_entries_with_one_fingerprint_on_one_side_are_parked_not_guessed() -> None:
    """Which of two equal entries the single twin belongs to is a guess; the other may be a duplicate."""
    result = match([_entry("f1"), _entry("f2")], [_entry("t1")])
    assert result.paired == []
    assert result.parked == [Parked(ParkReason.DUPLICATES, ("f1", "f2"), ("t1",))]


def test_entries_differing_only_in_minutes_or_note_are_parked_as_near_matches() -> None:
    """Same person, date and task, other minutes (or note): one side was edited, or they are different entries."""
    minutes = match([_entry("f1", 60)], [_entry("t1", 45)])
    note = match([_entry("f1", note="design")], [_entry("t1", note="design review")])
    for result in (minutes, note):
        assert result.paired == []
        assert result.parked == [Parked(ParkReason.NEAR_MATCH, ("f1",), ("t1",))]


def test_a_near_match_is_looked_for_only_after_exact_pairs() -> None:
    """A meeting and a review of one person on one task and day are two pairs, not a near match."""
    result = match([_entry("f1", 60, "meeting"), _entry("f2", 30, "review")],
                   [_entry("t1", 60, "meeting"), _entry("t2", 30, "review")])
    assert sorted(result.paired) == [("f1", "t1"), ("f2", "t2")]
    assert result.parked == []


def test_entries_without_a_twin_are_unmatched_on_their_side() -> None:
    """Another day, person or task: no twin; the next sync creates it."""
    result = match([_entry("f1"), _entry("f2", person="2")], [_entry("t1", day="2026-11-17"), _entry("t2", task="11")])
    assert result.paired == []
    assert result.parked == []
    assert sorted(result.unmatched_left) == ["f1", "f2"]
    assert sorted(result.unmatched_right) == ["t1", "t2"]


def test_without_near_matching_entries_that_differ_are_unmatched() -> None:
    result = match([_entry("f1", 60), _entry("f2", 30)], [_entry("t1", 45), _entry("t2", 30)], near=None)
    assert result.paired == [("f2", "t2")]
    assert result.parked == []
    assert (result.unmatched_left, result.unmatched_right) == (["f1"], ["t1"])


def test_in_project_time_terms_entries_that_differ_are_parked_as_same_day_never_unmatched() -> None:
    """Where person, date and task do not tell entries apart (project time), only exact twins pair, and the rest
    of a person's day on both sides is parked: left unmatched, the next sync would create both again."""
    result = match([_entry("f1", 60), _entry("f2", 30)], [_entry("t1", 45), _entry("t2", 30)],
                   near=ParkReason.SAME_DAY)
    assert result.paired == [("f2", "t2")]
    assert result.parked == [Parked(ParkReason.SAME_DAY, ("f1",), ("t1",))]
    assert (result.unmatched_left, result.unmatched_right) == ([], [])


def test_combine_keeps_the_first_pairs_and_the_second_leftovers() -> None:
    first = match([_entry("f1"), _entry("f2", note="[Design] x")], [_entry("t1"), _entry("t2", task="12", note="x")])
    second = match([_entry("f2", note="[Design] x")], [_entry("t2", note="[Design] x")])
    combined = combine(first, second)
    assert sorted(combined.paired) == [("f1", "t1"), ("f2", "t2")]
    assert (combined.unmatched_left, combined.unmatched_right) == ([], [])


# A small alphabet, so that equal and near fingerprints are common.
_fingerprints = st.tuples(st.sampled_from(["1", "2"]), st.sampled_from([DAY, "2026-11-17"]),
                          st.sampled_from(["10", "-"]), st.sampled_from([30, 60]), st.sampled_from(["", "a"]))


def _side(prefix: str) -> st.SearchStrategy[list[Keyed]]:
    return st.lists(_fingerprints, max_size=12).map(
        lambda prints: [Keyed(f"{prefix}{index}", fingerprint) for index, fingerprint in enumerate(prints)])


def _placements(result: Matching) -> tuple[list[str], list[str]]:
    left = [pair[0] for pair in result.paired] + [i for p in result.parked for i in p.left] + result.unmatched_left
    right = [pair[1] for pair in result.paired] + [i for p in result.parked for i in p.right] + result.unmatched_right
    return left, right


@settings(max_examples=300, deadline=None)
@given(_side("f"), _side("t"), st.booleans())
def test_every_entry_ends_up_exactly_once_and_pairs_are_exact(left: list[Keyed], right: list[Keyed],
                                                              near: bool) -> None:
    """No entry is paired twice or lost; a pair always has equal fingerprints held by no other entry."""
    result = match(left, right, near=near)
    placed_left, placed_right = _placements(result)
    assert sorted(placed_left) == sorted(entry.id for entry in left)
    assert sorted(placed_right) == sorted(entry.id for entry in right)
    prints = {entry.id: entry.fingerprint for entry in left + right}
    for left_id, right_id in result.paired:
        assert prints[left_id] == prints[right_id]
        assert [e.id for e in left + right if e.fingerprint == prints[left_id]] == [left_id, right_id]
    for parked in result.parked:
        assert parked.left, "a parked group always has candidates on both sides"
        assert parked.right, "a parked group always has candidates on both sides"
    if near:
        unmatched_right = {prints[i][:3] for i in result.unmatched_right}
        assert not any(prints[i][:3] in unmatched_right for i in result.unmatched_left), \
            "entries left for the next sync to create never share person, date and task with the other side's"
