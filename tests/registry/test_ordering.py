"""Event order: the order found with less work per tag is the order each tag's whole
sort key gives, whatever the numbers, times and actions."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from envctl.registry.grammar import Action, TagName
from envctl.registry.ordering import ordered_by_keys, ordered_events

# (counter or None, action, seconds): few values, so that numbers and times repeat
TAG = st.tuples(
    st.one_of(st.none(), st.integers(0, 12)),
    st.sampled_from(list(Action)),
    st.integers(0, 6),
)


@settings(max_examples=500)
@given(st.lists(TAG, max_size=25), st.booleans())
def test_events_are_in_the_order_of_their_whole_keys(
    tags: list[tuple[int | None, Action, int]], without_date: bool
) -> None:
    names = [f"m#t{n}" for n in range(len(tags))]
    stamps = [0.0 if without_date and n % 3 == 0 else float(t) for n, (_, _, t) in enumerate(tags)]
    items = [
        (TagName("m", action, None, "dev", counter), n)
        for n, (counter, action, _) in enumerate(tags)
    ]

    assert ordered_events(items, names, stamps) == ordered_by_keys(items, names, stamps)


def test_a_registration_goes_after_the_events_numbered_before_it() -> None:
    register = TagName("m", Action.REGISTER, "v2.0.0")
    names = ["m#dev#1", "m#dev#2", "m@v2.0.0", "m#dev#3"]
    at = {1: 0, 2: 1, 3: 3}  # each number's position among the names
    items = [(TagName("m", Action.ASSIGN, None, "dev", n), at[n]) for n in (3, 1, 2)]
    items.append((register, 2))
    stamps = [10.0, 20.0, 25.0, 30.0]

    assert [i for _, i in ordered_events(items, names, stamps)] == [0, 1, 2, 3]
