"""Fifty reps logging follow-ups at once, for a few seconds on each database: bench/load.py's run,
checking what it counts — every request answered 200 within Slack's 3 seconds, no errors, and
exactly the accepted submissions stored. Speed is left to the benchmark
(`python -m bench.load` runs the full minute and prints the numbers)."""

from __future__ import annotations

from bench import load

SECONDS = 5.0
REPS = 50


def test_fifty_reps_submitting_at_once_are_all_answered_in_time_and_stored(
    database_url: str,
) -> None:
    result = load.run(database_url, seconds=SECONDS, reps=REPS, log=lambda _: None)

    submissions = len(result.latencies["submission"])
    assert submissions >= REPS  # every rep got at least one round in
    assert result.unanswered == {}, result.why_unanswered
    assert {kind: set(c) for kind, c in result.statuses.items()} == {
        "command": {200},
        "submission": {200},
    }, load.report(result)
    assert max(s for v in result.latencies.values() for s in v) < load.SLACK_TIMEOUT
    assert result.accepted == submissions
    assert result.stored == result.stored_followups == submissions
