"""Time importing a large spreadsheet: `python -m bench.import_sheet [--rows 100000]`.

Writes a realistic xlsx (Chinese and English names, phones in several formats, statuses as
teams write them), runs `followup-bot import` on it as a real process into a fresh SQLite
database, and prints the wall time and the peak memory of the processes it ran.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from openpyxl import Workbook

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
SURNAMES = "王李张刘陈杨赵黄周吴"
STATUSES = ["有意向", "潜在客户", "warm", "已签约", "老客户", "lost"]


def write_sheet(path: Path, rows: int) -> None:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("跟进")
    sheet.append(HEADERS)
    for n in range(rows):
        customer = n // 2  # two follow-ups per customer on average
        sheet.append(
            [
                f"{SURNAMES[customer % 10]}{'磊娜伟芳'[customer % 4]}{customer}",
                f"上海某某{customer % 5000}科技有限公司",
                f"138 {customer // 10000:04d} {customer % 10000:04d}",
                f"buyer{customer}@example.cn" if customer % 3 else "",
                f"2026/{1 + n % 11}/{1 + n % 27}",
                "电话" if n % 2 else "微信",
                f"报价{100 + n % 400}套，客户比较了竞品价格和售后服务",
                "预算在下个季度审批，需要CFO签字",
                "U0OWNER" + f"{customer % 100:03d}",
                "下周三",
                "发送修改后的报价单",
                STATUSES[n % len(STATUSES)],
                "",
            ]
        )
    book.save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp())
    sheet = work / "sheet.xlsx"
    started = time.perf_counter()
    write_sheet(sheet, args.rows)
    print(
        f"wrote {args.rows:,} rows ({sheet.stat().st_size / 1e6:.1f} MB) in "
        f"{time.perf_counter() - started:.1f} s"
    )
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": "xoxb-bench",  # import needs no Slack call with ids as owners
        "SLACK_SIGNING_SECRET": "bench",
        "SLACK_API_URL": "http://127.0.0.1:9/api/",
        "DATABASE_URL": f"sqlite:///{work / 'bench.db'}",
        "LOG_LEVEL": "WARNING",
    }
    executable = Path(sys.executable).with_name("followup-bot")
    subprocess.run(
        [str(executable), "migrate"], env=env, cwd=work, check=True, capture_output=True, text=True
    )
    started = time.perf_counter()
    result = subprocess.run(
        [str(executable), "import", str(sheet), "--report", str(work / "report.csv")],
        env=env,
        cwd=work,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(result.stdout.strip() or result.stderr.strip()[-2000:])
    print(
        f"import: {elapsed:.1f} s ({args.rows / elapsed:,.0f} rows/s); "
        f"peak memory of the largest process: {peak_mb:.0f} MB"
    )


if __name__ == "__main__":
    main()
