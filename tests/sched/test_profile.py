"""The free-node profile of conservative backfilling, and EASY's shadow time.

Both are checked against definitions written out by brute force here: the nodes free at
a time are the nodes free now, plus the releases due by then, minus the reservations
running then; a start is possible at a breakpoint when enough nodes are free there and
at every breakpoint before the job would end.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis_profiles import examples

from benchhub_sim.sched.easy import shadow as _shadow
from benchhub_sim.sched.profile import Profile as _Profile

INF = math.inf

# --- the reference: free nodes at any time, straight from the definitions ----------


def free_at(now, free, releases, reservations, t):
    """Nodes free at time ``t >= now``; an end before ``now`` has released its nodes by ``t``."""
    released = sum(n for end, n in releases if end <= t)
    reserved = sum(n for start, n, duration in reservations if start <= t < start + duration)
    return free + released - reserved


def breakpoints(now, releases, reservations):
    """Every time the profile may change: now, future releases, reservation bounds."""
    points = {now} | {end for end, _ in releases if end > now}
    points |= {start for start, _, _ in reservations}
    points |= {start + duration for start, _, duration in reservations if duration > 0}
    return sorted(points)


def ref_earliest(now, free, releases, reservations, n, duration, after):
    """Try every breakpoint in order; the first with ``n`` free from it until it would end."""
    points = breakpoints(now, releases, reservations)

    def enough(t):
        return free_at(now, free, releases, reservations, t) >= n

    for start in points:
        if after is not None and start <= after:
            continue
        if enough(start) and all(enough(t) for t in points if start <= t < start + duration):
            return start
    return INF


def build(now, free, releases, reservations):
    profile = _Profile(now, free, releases)
    for start, n, duration in reservations:
        profile.reserve(start, n, duration)
    return profile


# --- hand-computed cases -----------------------------------------------------------


def test_releases_at_the_same_time_make_one_step_and_overdue_ones_count_now():
    # 1 free now; 1 + 1 nodes come back at 5, 2 at 10; 2 more were due at -3
    profile = _Profile(0.0, 1, [(10.0, 2), (5.0, 1), (-3.0, 2), (5.0, 1)])
    assert profile.times == [0.0, 5.0, 10.0]
    assert profile.free == [3, 5, 7]


def test_earliest_on_a_profile_with_a_reservation():
    # 4 nodes free now, 4 more at 10; 3 of them reserved from 2 to 7:
    # free is 4 on [0, 2), 1 on [2, 7), 4 on [7, 10), 8 from 10 on
    profile = _Profile(0.0, 4, [(10.0, 4)])
    profile.reserve(2.0, 3, 5.0)
    assert (profile.times, profile.free) == ([0.0, 2.0, 7.0, 10.0], [4, 1, 4, 8])
    assert profile.earliest(4, 2.0) == 0.0  # [0, 2) is exactly long enough
    assert profile.earliest(4, 2.5) == 7.0  # 1 free at 2 interrupts it
    assert profile.earliest(1, 100.0) == 0.0  # one node is free throughout
    assert profile.earliest(5, 1.0) == 10.0
    assert profile.earliest(9, 0.0) == INF  # never 9 free
    assert profile.earliest(4, 2.0, after=0.0) == 7.0  # only later breakpoints
    assert profile.earliest(1, 1.0, after=10.0) == INF  # no breakpoint after 10
    assert profile.earliest(2, 0.0, after=1.0) == 7.0  # a zero duration still needs the step


def test_a_zero_duration_reservation_only_adds_a_breakpoint():
    profile = _Profile(0.0, 4, [(10.0, 4)])
    profile.reserve(3.0, 2, 0.0)
    assert (profile.times, profile.free) == ([0.0, 3.0, 10.0], [4, 4, 8])


def test_a_reservation_until_an_existing_breakpoint_adds_only_its_start():
    profile = _Profile(0.0, 2, [(4.0, 2), (10.0, 1)])
    profile.reserve(1.0, 2, 3.0)  # 1 to 4, and 4 is already a release
    assert (profile.times, profile.free) == ([0.0, 1.0, 4.0, 10.0], [2, 0, 4, 5])


# --- random profiles against the reference ----------------------------------------

times = st.integers(-4, 24).map(lambda k: k / 2)  # halves: many equal times
durations = st.sampled_from([0.0, 0.5, 1.0, 2.5, 4.0])


@st.composite
def profiles(draw):
    now = draw(st.sampled_from([0.0, 3.0]))
    free = draw(st.integers(0, 6))
    releases = draw(st.lists(st.tuples(times, st.integers(1, 4)), max_size=8))
    starts = times.map(lambda t: max(t, now))  # conservative reserves from now on
    reservations = draw(st.lists(st.tuples(starts, st.integers(1, 3), durations), max_size=6))
    return now, free, releases, reservations


queries = st.lists(
    st.tuples(
        st.integers(0, 16),  # up to far more nodes than ever free
        st.one_of(durations, st.just(INF)),
        st.one_of(st.none(), times, st.just(100.0)),
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=examples(50), deadline=None)
@given(case=profiles())
def test_the_profile_is_the_reference_at_every_breakpoint(case):
    now, free, releases, reservations = case
    profile = build(*case)
    points = breakpoints(now, releases, reservations)
    assert profile.times == points
    assert profile.free == [free_at(now, free, releases, reservations, t) for t in points]


@settings(max_examples=examples(50), deadline=None)
@given(case=profiles(), asks=queries)
def test_earliest_is_the_first_breakpoint_that_works(case, asks):
    profile = build(*case)
    for n, duration, after in asks:
        expected = ref_earliest(*case, n, duration, after)
        assert profile.earliest(n, duration, after=after) == expected, (n, duration, after)


@settings(max_examples=examples(50), deadline=None)
@given(
    now=st.sampled_from([0.0, 3.0]),
    free=st.integers(0, 6),
    releases=st.lists(st.tuples(times, st.integers(1, 4)), max_size=8),
    jobs=st.lists(st.tuples(st.integers(1, 8), durations), max_size=10),
)
def test_reserving_where_earliest_says_never_overbooks(now, free, releases, jobs):
    # as conservative does: each job at its earliest start, then the next job
    profile = _Profile(now, free, releases)
    reservations = []
    for n, duration in jobs:
        start = profile.earliest(n, duration)
        assert start == ref_earliest(now, free, releases, reservations, n, duration, None)
        if start != INF:
            profile.reserve(start, n, duration)
            reservations.append((start, n, duration))
    assert min(profile.free) >= 0
    points = breakpoints(now, releases, reservations)
    assert profile.free == [free_at(now, free, releases, reservations, t) for t in points]


# --- EASY's shadow time ------------------------------------------------------------


def ref_shadow(now, need, free, running):
    """Textbook EASY (Lifka; Mu'alem & Feitelson 2001), from its definition: the shadow
    time is the earliest release time t (an overdue end counts as now) at which the nodes
    free by t reach ``need``; the extra nodes are all the nodes free at t minus ``need``."""

    def free_at(t):
        return free + sum(n for end, n in running if max(end, now) <= t)

    times = sorted({max(end, now) for end, _ in running})
    shadow = next((t for t in times if free_at(t) >= need), INF)
    return shadow, (free_at(shadow) - need if shadow < INF else 0)


def fake_view(now, running):
    jobs = [SimpleNamespace(expected_end=end, n_nodes=n) for end, n in running]
    return SimpleNamespace(now=now, running=lambda: jobs)


def test_shadow_hand_computed():
    # 1 free; need 4: 2 come back at 3 (overdue: counted now, at 5), then 3 at 8
    view = fake_view(5.0, [(8.0, 3), (3.0, 2), (20.0, 1)])
    assert _shadow(view, 4, 1) == (8.0, 2, 3.0)
    assert _shadow(view, 3, 1) == (5.0, 0, 3.0)
    assert _shadow(fake_view(5.0, []), 2, 1) == (INF, 0, INF)
    # overdue at 4.5 and due at 5 both release now: all 4 nodes count, 3 are extra
    assert _shadow(fake_view(5.0, [(4.5, 3), (5.0, 1)]), 1, 0) == (5.0, 3, 4.5)
    # two jobs end together at the shadow time: both count (the old rule stopped at one)
    assert _shadow(fake_view(0.0, [(10.0, 4), (10.0, 4)]), 5, 2) == (10.0, 5, 10.0)


@settings(max_examples=examples(50), deadline=None)
@given(
    now=st.sampled_from([0.0, 3.0]),
    need=st.integers(1, 12),
    free=st.integers(0, 4),
    running=st.lists(st.tuples(times, st.integers(1, 4)), max_size=8),
)
def test_shadow_is_the_reference(now, need, free, running):
    shadow, extra, first_end = _shadow(fake_view(now, running), need, free)
    assert (shadow, extra) == ref_shadow(now, need, free, running)
    assert first_end == min((end for end, _ in running), default=INF)
