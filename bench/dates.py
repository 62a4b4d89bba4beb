"""Time reading "next contact" phrases: `python -m bench.dates [--repeat N] [--verbose]`.

Every phrase of the English and Chinese tables in tests/test_dates.py is read `--repeat` times
with the app's `parse_when` (after `warm_up()`, as `followup-bot serve` does at start-up) and
with plain `dateparser.parse` on its default settings; it prints the median and p99 per phrase,
summarised over all phrases. The first call in a fresh process is timed separately, in a
subprocess, for both.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from datetime import time as clock_time
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
NINE_AM = clock_time(9, 0)
TARGET_MEDIAN_MS = 2.0
# One phrase per path through parse_when: its own English readers, dateparser, Chinese.
FIRST_PHRASES = (
    ("own-reader phrase", "next Tue 3pm"),
    ("dateparser phrase", "in 2 weeks"),
    ("Chinese phrase", "下周三下午3点"),
)
FIRST_CALL_VARIANTS = ("serve", "cold", "dateparser")


def phrases() -> list[str]:
    """The phrase tables the date tests check (English and Chinese), in their order."""
    from tests.test_dates import CHINESE_ON_WEDNESDAY_MORNING, ENGLISH_ON_WEDNESDAY_MORNING

    return [row[0] for row in (*ENGLISH_ON_WEDNESDAY_MORNING, *CHINESE_ON_WEDNESDAY_MORNING)]


def _now() -> datetime:
    from tests.test_dates import WEDNESDAY_10AM

    return WEDNESDAY_10AM.replace(tzinfo=SHANGHAI)


@dataclass(frozen=True)
class PhraseTiming:
    phrase: str
    median_ms: float
    p99_ms: float
    read: bool  # whether the parser understood it


@dataclass(frozen=True)
class ParserTimings:
    parser: str
    rows: list[PhraseTiming]

    @property
    def median_of_medians_ms(self) -> float:
        return statistics.median(r.median_ms for r in self.rows)

    @property
    def worst_median(self) -> PhraseTiming:
        return max(self.rows, key=lambda r: r.median_ms)

    @property
    def worst_p99(self) -> PhraseTiming:
        return max(self.rows, key=lambda r: r.p99_ms)

    @property
    def read_count(self) -> int:
        return sum(r.read for r in self.rows)


def percentile(samples: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (p99 of 100 samples is the 99th smallest)."""
    ordered = sorted(samples)
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
    return ordered[rank - 1]


def time_parser(
    name: str, parse: Callable[[str], object], texts: Sequence[str], repeat: int
) -> ParserTimings:
    rows = []
    for text in texts:
        samples = []
        result: object = None
        for _ in range(repeat):
            started = time.perf_counter_ns()
            result = parse(text)
            samples.append((time.perf_counter_ns() - started) / 1e6)
        rows.append(
            PhraseTiming(
                text, statistics.median(samples), percentile(samples, 0.99), result is not None
            )
        )
    return ParserTimings(name, rows)


def _app_parser() -> Callable[[str], object]:
    from bot.dates import parse_when

    now = _now()
    return lambda text: parse_when(text, SHANGHAI, now, NINE_AM)


def _plain_dateparser() -> Callable[[str], object]:
    import dateparser

    return lambda text: dateparser.parse(text)


def _elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def first_calls_in_this_process(variant: str) -> dict[str, float]:
    """Time the first calls in this (fresh) process, in ms. `serve`: warm_up() first, then the
    first phrases, as `followup-bot serve` starts; `cold`: the first phrases with no warm_up;
    `dateparser`: plain dateparser.parse alone."""
    timings: dict[str, float] = {}
    if variant == "dateparser":
        started = time.perf_counter()
        import dateparser

        timings["import dateparser"] = _elapsed_ms(started)
        for label, text in FIRST_PHRASES:
            started = time.perf_counter()
            dateparser.parse(text)
            timings[f"dateparser.parse, first {label}"] = _elapsed_ms(started)
        return timings
    started = time.perf_counter()
    from bot import dates

    timings[f"[{variant}] import bot.dates"] = _elapsed_ms(started)
    if variant == "serve":
        started = time.perf_counter()
        dates.warm_up()
        timings["[serve] warm_up()"] = _elapsed_ms(started)
    parse = _app_parser()
    for label, text in FIRST_PHRASES:
        started = time.perf_counter()
        parse(text)
        timings[f"[{variant}] parse_when, first {label}"] = _elapsed_ms(started)
    return timings


def first_calls_fresh(variant: str) -> dict[str, float]:
    """Run a fresh interpreter and time its first calls there."""
    output = subprocess.run(
        [sys.executable, "-m", "bench.dates", "--first-call", variant],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result: dict[str, float] = json.loads(output)
    return result


@dataclass(frozen=True)
class DatesResult:
    app: ParserTimings
    plain: ParserTimings
    first_calls: dict[str, float]

    @property
    def target_met(self) -> bool:
        return self.app.median_of_medians_ms <= TARGET_MEDIAN_MS


def run(repeat: int, *, texts: Sequence[str] | None = None, fresh: bool = True) -> DatesResult:
    from bot.dates import warm_up

    chosen = list(texts) if texts is not None else phrases()
    warm_up()
    app = time_parser("parse_when", _app_parser(), chosen, repeat)
    plain_parse = _plain_dateparser()
    for text in chosen:  # dateparser's own first-use costs are reported separately
        plain_parse(text)
    plain = time_parser("dateparser.parse", plain_parse, chosen, repeat)
    first: dict[str, float] = {}
    if fresh:
        for variant in FIRST_CALL_VARIANTS:
            first.update(first_calls_fresh(variant))
    return DatesResult(app, plain, first)


def report(result: DatesResult, *, verbose: bool) -> str:
    lines = [f"{len(result.app.rows)} phrases (tests/test_dates.py tables), now = Wed 10:00 CST"]
    lines.append(
        f"{'parser':<18} {'read':>7} {'median of medians':>18} "
        f"{'worst median':>24} {'worst p99':>24}"
    )
    for timings in (result.app, result.plain):
        worst_median, worst_p99 = timings.worst_median, timings.worst_p99
        lines.append(
            f"{timings.parser:<18} {timings.read_count:>3}/{len(timings.rows):<3} "
            f"{timings.median_of_medians_ms:>15.3f} ms "
            f"{worst_median.median_ms:>9.3f} ms {worst_median.phrase[:12]!r:>12} "
            f"{worst_p99.p99_ms:>9.3f} ms {worst_p99.phrase[:12]!r:>12}"
        )
    verdict = "met" if result.target_met else "MISSED"
    lines.append(f"target: median <= {TARGET_MEDIAN_MS} ms after warm-up: {verdict}")
    if result.first_calls:
        lines.append("first calls in a fresh process:")
        lines.extend(f"  {name}: {ms:.1f} ms" for name, ms in result.first_calls.items())
    if verbose:
        lines.append(f"{'phrase':<28} {'app median':>11} {'app p99':>9} {'dp median':>10}")
        for mine, theirs in zip(result.app.rows, result.plain.rows, strict=True):
            lines.append(
                f"{mine.phrase:<28} {mine.median_ms:>8.3f} ms {mine.p99_ms:>6.3f} ms "
                f"{theirs.median_ms:>7.3f} ms"
            )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> DatesResult | None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=200, help="reads per phrase and parser")
    parser.add_argument("--verbose", action="store_true", help="one line per phrase")
    parser.add_argument("--first-call", choices=FIRST_CALL_VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--no-fresh", action="store_true", help="skip the fresh-process timings")
    parser.add_argument("--every", type=int, default=1, help="only every n-th phrase (smoke runs)")
    args = parser.parse_args(argv)
    if args.first_call:
        print(json.dumps(first_calls_in_this_process(args.first_call)))
        return None
    result = run(args.repeat, texts=phrases()[:: args.every], fresh=not args.no_fresh)
    print(report(result, verbose=args.verbose))
    return result


if __name__ == "__main__":
    main()
