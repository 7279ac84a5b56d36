"""The escalation ladder as a pure function of progress, time and candidates."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from server.dispatch.ladder import AlertOperator, Notify, Progress, chosen, declined, next_step
from server.dispatch.settings import DispatchSettings, LadderLevel

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
SETTINGS = DispatchSettings(
    notify_timeout_s=60,
    notify_attempts=2,
    levels=[
        LadderLevel(kinds=["family"], responders=1),
        LadderLevel(kinds=["care_worker", "volunteer"], responders=2),
    ],
)
CANDIDATES: dict[int, list[int]] = {0: [10, 11], 1: [20, 21, 22]}


def by_level(level: int) -> Sequence[int]:
    return CANDIDATES[level]


def run_until_alert(
    progress: Progress, settings: DispatchSettings
) -> list[tuple[object, datetime]]:
    """Walk the ladder with nobody accepting; each step at the time the last one asked for."""
    now, steps = T0, list[tuple[object, datetime]]()
    for _ in range(50):
        progress, step, wake = next_step(progress, now, settings, by_level)
        steps.append((step, now))
        if wake is None:
            return steps
        assert wake == now + timedelta(seconds=settings.notify_timeout_s)
        now = wake
    raise AssertionError("the ladder never ended")


def test_nobody_accepts_each_asked_twice_then_next_then_operator() -> None:
    steps = run_until_alert(Progress(), SETTINGS)
    asked = [(s.responder_id, s.attempt, s.level) for s, _ in steps if isinstance(s, Notify)]
    # One family member (rung 0 allows 1), then two care workers, each notified twice.
    assert asked == [(10, 1, 0), (10, 2, 0), (20, 1, 1), (20, 2, 1), (21, 1, 1), (21, 2, 1)]
    final, at = steps[-1]
    assert final == AlertOperator(tried=3)
    assert at == T0 + timedelta(seconds=6 * 60)


def test_nobody_available_alerts_the_operator_at_once() -> None:
    progress, step, wake = next_step(Progress(), T0, SETTINGS, lambda level: [])
    assert step == AlertOperator(tried=0)
    assert wake is None
    assert progress.current is None


def test_nobody_is_asked_twice_even_if_ranked_on_two_rungs() -> None:
    both = {0: [10], 1: [10, 20]}
    settings = SETTINGS.model_copy(update={"notify_attempts": 1})
    progress, first, _ = next_step(Progress(), T0, settings, lambda level: both[level])
    progress, second, _ = next_step(progress, T0, settings, lambda level: both[level])
    assert (first, second) == (Notify(10, 1, 0), Notify(20, 1, 1))


def test_decline_moves_on_without_repeating() -> None:
    progress, step, _ = next_step(Progress(), T0, SETTINGS, by_level)
    assert step == Notify(10, 1, 0)
    progress, step, _ = next_step(declined(progress, SETTINGS), T0, SETTINGS, by_level)
    assert step == Notify(20, 1, 1)


def test_operator_choice_is_asked_and_the_ladder_continues_after_it() -> None:
    progress = chosen(Progress(), 22)
    progress, step, _ = next_step(progress, T0, SETTINGS, by_level)
    assert step == Notify(22, 2, 0)  # the repeat of the operator's choice
    progress, step, _ = next_step(progress, T0, SETTINGS, by_level)
    assert step == Notify(10, 1, 0)


def test_progress_survives_json() -> None:
    progress, _, _ = next_step(Progress(), T0, SETTINGS, by_level)
    assert Progress.from_json(progress.to_json()) == progress
    assert Progress.from_json(None) == Progress()
