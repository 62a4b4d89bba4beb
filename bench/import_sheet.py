"""Import a large spreadsheet: `python -m bench.import_sheet [--rows 100000]
[--database-url URL | --postgres]`.

Writes a realistic xlsx (Chinese and English names, phones in several formats, statuses as teams
write them, two follow-ups per customer), runs `followup-bot import` on it as a real process into a
fresh database, and prints the wall time and peak memory: the largest single process (its
getrusage maximum) and the whole process tree (the import and its reader process, sampled from
/proc every 50 ms).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from openpyxl import Workbook
from sqlalchemy import func, select

from bench.seed import (
    FIRST_NAMES,
    GIVEN,
    LAST_NAMES,
    SURNAMES,
    add_database_arguments,
    bench_database,
    database_versions,
    owner_id,
)
from storage.db import Database
from storage.migrate import upgrade
from storage.models import FollowUp

HEADERS = [
    "客户姓名",
    "公司",
    "电话",
    "邮箱",
    "跟进时间",
    "跟进方式",
    "跟进内容",
    "客户反馈",
    "跟进人",
    "下次跟进时间",
    "下次跟进事项",
    "客户状态",
    "备注",
]
COMPANIES = ("上海{}科技有限公司", "深圳{}电子有限公司", "{} Trading Ltd", "北京{}贸易有限公司")
BRANDS = ("华信", "宏达", "中科", "瑞丰", "Northwind", "Bluepeak", "天成", "鼎盛")
STATUSES = ("有意向", "潜在客户", "warm", "已签约", "老客户", "lost")
METHODS = ("电话", "微信", "phone", "拜访", "email")
OWNERS = 100
SAMPLE_SECONDS = 0.05
SUMMARY_LINE = re.compile(r"(\d+) rows: (\d+) imported, (\d+) fixed, (\d+) merged, (\d+) rejected")


@dataclass(frozen=True)
class ImportResult:
    rows: int
    imported: int
    rejected: int
    followups_in_database: int
    seconds: float
    cpu_seconds: float  # the import's CPU time, its reader process included
    largest_process_mb: float
    process_tree_mb: float
    output: str


def _phone(customer: int) -> str:
    """The same mobile written the ways people write it."""
    digits = f"138{(customer * 7919 + 1_000_000) % 100_000_000:08d}"
    style = customer % 4
    if style == 0:
        return f"{digits[:3]} {digits[3:7]} {digits[7:]}"
    if style == 1:
        return f"+86 {digits}"
    if style == 2:
        return f"{digits[:3]}-{digits[3:7]}-{digits[7:]}"
    return digits


def write_sheet(path: Path, rows: int, *, random_seed: int = 8) -> None:
    rng = random.Random(random_seed)
    book = Workbook(write_only=True)
    sheet = book.create_sheet("跟进")
    sheet.append(HEADERS)
    names: dict[int, tuple[str, str]] = {}
    for n in range(rows):
        customer = n // 2  # two follow-ups per customer
        if customer not in names:
            if customer % 4 == 3:
                name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
            else:
                given = "".join(chars for chars, _ in rng.sample(GIVEN, 1 + customer % 2))
                name = rng.choice(SURNAMES)[0] + given
            company = rng.choice(COMPANIES).format(f"{rng.choice(BRANDS)}{customer % 5000}")
            names = {customer: (name, company)}  # rows of one customer are adjacent
        name, company = names[customer]
        sheet.append(
            [
                name,
                company,
                _phone(customer),
                f"buyer{customer}@example.cn" if customer % 3 else "",
                f"2026/{1 + n % 11}/{1 + n % 27}",
                METHODS[n % len(METHODS)],
                f"报价{100 + n % 400}套，客户比较了竞品价格和售后服务",
                "预算在下个季度审批，需要CFO签字",
                owner_id(customer % OWNERS),
                "下周三",
                "发送修改后的报价单",
                STATUSES[n % len(STATUSES)],
                "",
            ]
        )
    book.save(path)


def _tree_rss_kb(root: int) -> int:
    """Resident memory of `root` and all its descendants, from /proc."""
    total, pending = 0, [root]
    while pending:
        pid = pending.pop()
        try:
            with open(f"/proc/{pid}/status", encoding="ascii") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as children:
                    pending.extend(int(child) for child in children.read().split())
        except (FileNotFoundError, ProcessLookupError, ValueError):
            continue
    return total


def run_import(
    sheet: Path, url: str, work: Path
) -> tuple[subprocess.CompletedProcess[str], float, float, float, float]:
    """(the finished process, seconds, CPU seconds, largest process MB, peak process-tree MB)."""
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": "xoxb-bench",  # import needs no Slack call with ids as owners
        "SLACK_SIGNING_SECRET": "bench",
        "SLACK_API_URL": "http://127.0.0.1:9/api/",
        "DATABASE_URL": url,
        "LOG_LEVEL": "WARNING",
    }
    executable = Path(sys.executable).with_name("followup-bot")
    argv = [str(executable), "import", str(sheet), "--report", str(work / "report.csv")]
    stdout, stderr = work / "stdout.txt", work / "stderr.txt"
    peak_tree = 0
    with stdout.open("w") as out, stderr.open("w") as err:
        started = time.perf_counter()
        process = subprocess.Popen(argv, env=env, cwd=work, stdout=out, stderr=err)
        done = threading.Event()

        def sample() -> None:
            nonlocal peak_tree
            while not done.wait(SAMPLE_SECONDS):
                peak_tree = max(peak_tree, _tree_rss_kb(process.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        # wait4 gives this child's own rusage, which includes the descendants it waited for
        # (the reader process) but not this bench's other children (a PostgreSQL server).
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        done.set()
        sampler.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    largest_mb = usage.ru_maxrss / 1024
    completed = subprocess.CompletedProcess(
        argv, process.returncode, stdout.read_text(), stderr.read_text()
    )
    cpu = usage.ru_utime + usage.ru_stime
    return completed, elapsed, cpu, largest_mb, peak_tree / 1024


def time_import(url: str, rows: int, work: Path) -> ImportResult:
    sheet = work / "sheet.xlsx"
    started = time.perf_counter()
    write_sheet(sheet, rows)
    print(
        f"wrote {rows:,} rows ({sheet.stat().st_size / 1e6:.1f} MB) in "
        f"{time.perf_counter() - started:.1f} s"
    )
    upgrade(url)  # as `followup-bot migrate` would, so the import times the import alone
    completed, elapsed, cpu, largest_mb, tree_mb = run_import(sheet, url, work)
    output = completed.stdout.strip() or completed.stderr.strip()[-2000:]
    found = SUMMARY_LINE.search(completed.stdout)
    if completed.returncode != 0 or found is None:
        raise SystemExit(f"import failed ({completed.returncode}): {output}")
    total, imported, _fixed, _merged, rejected = (int(group) for group in found.groups())
    db = Database(url)
    try:
        with db.reader() as session:
            in_database = int(session.scalar(select(func.count()).select_from(FollowUp)) or 0)
    finally:
        db.dispose()
    return ImportResult(
        rows=total,
        imported=imported,
        rejected=rejected,
        followups_in_database=in_database,
        seconds=elapsed,
        cpu_seconds=cpu,
        largest_process_mb=largest_mb,
        process_tree_mb=tree_mb,
        output=output,
    )


def main(argv: Sequence[str] | None = None) -> ImportResult:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_database_arguments(parser)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory(prefix="followup-import-") as folder,
        bench_database(args) as url,
    ):
        result = time_import(url, args.rows, Path(folder))
        print(result.output)
        print(
            f"{database_versions(url)}: import of {result.rows:,} rows in {result.seconds:.1f} s "
            f"({result.rows / result.seconds:,.0f} rows/s; target <= 60 s), CPU time "
            f"{result.cpu_seconds:.1f} s; peak memory: "
            f"largest process {result.largest_process_mb:.0f} MB, whole import "
            f"{result.process_tree_mb:.0f} MB (target <= 300 MB); "
            f"{result.followups_in_database:,} follow-ups in the database"
        )
    return result


if __name__ == "__main__":
    main()
