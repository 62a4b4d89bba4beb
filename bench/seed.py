"""Build a large, realistic database fast: `python -m bench.seed --database-url URL
--customers 100000 --followups 1000000 [--due 10000] [--owners 500]` (or `--postgres` for a
throw-away server). The schema comes from the real migrations; rows go in with bulk inserts
(executemany on SQLite, COPY on PostgreSQL).

What it writes obeys every rule the app relies on: contacts are valid E.164 phones (+86 mobiles,
some +1) and lower-case emails, unique across customers; every customer has a phone or an email;
statuses and methods are known ones; each customer's history is a run of closed follow-ups and at
most one open one (the latest); only open follow-ups carry a reminder time; name and company keys
are the app's own normalisation; the customer's status is that of its latest follow-up, and every
status change is in the change log. `--due` open follow-ups are due at `--now`: their reminder time
has come. Everything is drawn from a seeded random generator, so a size always gives the same data.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from sqlalchemy import inspect, text

from bot.matching import normalize_company, normalize_person
from storage.db import Database, is_sqlite
from storage.migrate import upgrade
from tests.postgres import throwaway_postgres

# The benches' fixed clock: what "now" is for due reminders and the morning summary.
NOW: Final = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
DEFAULT_OWNERS: Final = 500
CHUNK_CUSTOMERS: Final = 10_000
ESCALATE_AFTER: Final = timedelta(hours=48)  # the app's default ESCALATE_AFTER_HOURS
DAY: Final = 86_400.0
HOUR: Final = 3_600.0
_NAIVE_EPOCH: Final = datetime(1970, 1, 1)  # noqa: DTZ001 - SQLite stores UTC as naive text

# --- what people and companies are called ---------------------------------------------------

# (characters, pinyin): emails of Chinese customers are spelled in pinyin, as they are.
SURNAMES: Final = (
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"),
    ("赵", "zhao"), ("黄", "huang"), ("周", "zhou"), ("吴", "wu"), ("徐", "xu"), ("孙", "sun"),
    ("胡", "hu"), ("朱", "zhu"), ("高", "gao"), ("林", "lin"), ("何", "he"), ("郭", "guo"),
    ("马", "ma"), ("罗", "luo"), ("梁", "liang"), ("宋", "song"), ("郑", "zheng"), ("谢", "xie"),
    ("韩", "han"), ("唐", "tang"), ("冯", "feng"), ("于", "yu"), ("董", "dong"), ("萧", "xiao"),
    ("程", "cheng"), ("曹", "cao"), ("袁", "yuan"), ("邓", "deng"), ("许", "xu"), ("傅", "fu"),
    ("沈", "shen"), ("曾", "zeng"), ("彭", "peng"), ("吕", "lv"), ("欧阳", "ouyang"),
    ("司马", "sima"),
)  # fmt: skip
GIVEN: Final = (
    ("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("磊", "lei"),
    ("强", "qiang"), ("洋", "yang"), ("艳", "yan"), ("勇", "yong"), ("军", "jun"), ("杰", "jie"),
    ("娟", "juan"), ("涛", "tao"), ("明", "ming"), ("超", "chao"), ("秀英", "xiuying"),
    ("霞", "xia"), ("平", "ping"), ("刚", "gang"), ("桂英", "guiying"), ("晓", "xiao"),
    ("婷", "ting"), ("浩", "hao"), ("宇", "yu"), ("欣", "xin"), ("佳", "jia"), ("子涵", "zihan"),
    ("建华", "jianhua"), ("志强", "zhiqiang"), ("丽", "li"), ("鹏", "peng"), ("辉", "hui"),
    ("雪", "xue"), ("琳", "lin"), ("晨", "chen"), ("思远", "siyuan"), ("嘉怡", "jiayi"),
)  # fmt: skip
FIRST_NAMES: Final = (
    "Emily", "James", "Olivia", "Michael", "Sophia", "David", "Emma", "Daniel", "Ava", "Ryan",
    "Grace", "Kevin", "Chloe", "Jason", "Hannah", "Eric", "Natalie", "Brian", "Megan", "Alex",
    "Laura", "Peter", "Rachel", "Mark", "Sarah", "Thomas", "Julia", "Andrew", "Nina", "Victor",
)  # fmt: skip
LAST_NAMES: Final = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson",
    "Taylor", "Thomas", "Moore", "Martin", "Lee", "Walker", "Hall", "Young", "King", "Wright",
    "Chen", "Wong", "Nguyen", "Patel", "Kim", "Clark", "Lewis", "Scott", "Green", "Baker", "Hill",
)  # fmt: skip
CITIES: Final = (
    "上海", "北京", "深圳", "广州", "杭州", "苏州", "南京", "成都", "武汉", "天津", "重庆",
    "西安", "宁波", "青岛", "厦门", "长沙",
)  # fmt: skip
BRANDS: Final = (
    ("华信", "huaxin"), ("宏达", "hongda"), ("中科", "zhongke"), ("瑞丰", "ruifeng"),
    ("天成", "tiancheng"), ("鼎盛", "dingsheng"), ("恒通", "hengtong"), ("新元", "xinyuan"),
    ("博远", "boyuan"), ("金桥", "jinqiao"), ("海纳", "haina"), ("东方", "dongfang"),
    ("远景", "yuanjing"), ("智达", "zhida"), ("启明", "qiming"), ("嘉禾", "jiahe"),
    ("联创", "lianchuang"), ("正泰", "zhengtai"), ("蓝海", "lanhai"), ("星辰", "xingchen"),
    ("九州", "jiuzhou"), ("同方", "tongfang"), ("长城", "changcheng"), ("万达", "wanda"),
    ("和信", "hexin"), ("汇丰源", "huifengyuan"), ("安泰", "antai"), ("德润", "derun"),
)  # fmt: skip
TRADES: Final = (
    "科技", "电子", "贸易", "物流", "信息技术", "机械设备", "医疗器械", "新材料", "软件",
    "建筑工程", "食品", "环保", "汽车配件", "文化传媒",
)  # fmt: skip
CN_FORMS: Final = ("有限公司", "有限公司", "股份有限公司", "集团有限公司")
EN_BRANDS: Final = (
    "Northwind", "Bluepeak", "Acme", "Silverline", "Redwood", "Harbor", "Summit", "Crescent",
    "Evergreen", "Pioneer", "Granite", "Lakeside", "Brightway", "Ironbridge", "Clearwater",
    "Westfield", "Oakridge", "Sterling", "Horizon", "Keystone",
)  # fmt: skip
EN_TRADES: Final = (
    "Logistics", "Trading", "Software", "Electronics", "Foods", "Medical", "Systems", "Labs",
    "Manufacturing", "Consulting",
)  # fmt: skip
EN_FORMS: Final = ("Inc.", "Ltd", "LLC", "Co.", "GmbH", "Pte. Ltd.")
CN_MAIL: Final = ("qq.com", "163.com", "126.com", "sina.com", "foxmail.com")
# +86 mobile prefixes and US area codes / exchanges that libphonenumber accepts as valid.
CN_MOBILE: Final = (
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "150", "151", "152",
    "153", "155", "156", "157", "158", "159", "176", "177", "180", "181", "182", "183", "184",
    "185", "186", "187", "188", "189", "198", "199",
)  # fmt: skip
US_AREAS: Final = ("212", "415", "646", "312", "617", "206", "213", "305", "512", "718")
US_EXCHANGES: Final = tuple(str(n) for n in range(201, 1000) if n % 100 != 11 and n != 555)

METHODS_ZH: Final = ("phone",) * 4 + ("wechat",) * 4 + ("visit", "meeting", "message")
METHODS_EN: Final = ("phone",) * 3 + ("email",) * 4 + ("meeting", "visit", "message")
SUMMARIES_ZH: Final = (
    "电话沟通了报价，客户在比较两家供应商的价格",
    "上门拜访，演示了新版系统，采购和IT都在场",
    "微信发送了产品资料和同行业案例",
    "报价200套，单价80元，客户希望再优惠5%",
    "客户反馈试用版运行稳定，准备走内部审批",
    "约了技术负责人，确认接口对接方案",
    "跟进合同条款，法务对付款周期有意见",
    "展会上认识的，留了名片，初步介绍了公司",
)  # fmt: skip
SUMMARIES_EN: Final = (
    "Called about the quote; they are comparing us with Acme.",
    "On-site demo of the new release for purchasing and IT.",
    "Sent the case study and the updated price list.",
    "Quoted 200 seats at $80; they asked for 5% off.",
    "Trial is running well; going through internal approval.",
    "Met their tech lead to agree on the integration plan.",
    "Reviewed contract terms; legal wants 60-day payment.",
    "Met at the trade show and gave a short intro.",
)  # fmt: skip
FEEDBACK_ZH: Final = (
    "预算在下个季度审批，需要CFO签字",
    "价格偏高，希望看到更多成功案例",
    "对售后服务比较关心",
    "老板很感兴趣，下周内部讨论",
    "暂时没有需求，明年再联系",
    "希望先小批量试用",
)  # fmt: skip
FEEDBACK_EN: Final = (
    "Budget is approved next quarter; needs CFO sign-off.",
    "Price is high; wants more references.",
    "Mostly worried about support response times.",
    "The owner is keen; internal discussion next week.",
    "No need right now; try again next year.",
    "Wants a small pilot first.",
)  # fmt: skip
NEXT_ZH: Final = (
    "发送修改后的报价单",
    "安排技术演示",
    "确认合同细节",
    "回访试用情况",
    "寄送样品",
    "约见采购经理",
)  # fmt: skip
NEXT_EN: Final = (
    "Send the revised quote",
    "Book a technical demo",
    "Confirm the contract details",
    "Check how the trial went",
    "Ship the samples",
    "Meet the purchasing manager",
)  # fmt: skip
NOTES: Final = ("", "", "", "", "VIP", "需要发票", "Prefers WeChat", "Referred by a customer")

# Status paths, oldest first; the last one is the customer's status today.
OPEN_PATHS: Final = (
    (("prospect",), 30),
    (("prospect", "interested"), 40),
    (("prospect", "interested", "won"), 12),
    (("existing",), 18),
)
CLOSED_PATHS: Final = (
    (("prospect", "lost"), 40),
    (("prospect", "interested", "lost"), 45),
    (("prospect", "interested", "won"), 15),
)

CUSTOMER_COLUMNS: Final = (
    "id", "name", "company", "phone_e164", "email", "owner_id", "status", "version",
    "created_by", "created_at", "updated_at", "name_key", "company_key", "owner_since",
)  # fmt: skip
FOLLOWUP_COLUMNS: Final = (
    "id", "customer_id", "author_id", "owner_id", "contacted_at", "method", "summary",
    "feedback", "status_after", "next_at", "next_action", "notes", "state", "version",
    "created_at", "done_at", "done_by", "remind_at", "remind_attempts", "escalated",
)  # fmt: skip
CHANGE_LOG_COLUMNS: Final = ("at", "actor_id", "entity", "entity_id", "action", "before", "after")

Row = tuple[Any, ...]


def owner_id(n: int) -> str:
    """The Slack user id of seeded owner n (what fake Slack users must be called)."""
    return f"U0OWNER{n:04d}"


@dataclass(frozen=True)
class SeedResult:
    customers: int
    followups: int
    open: int
    due: int
    change_log: int
    seconds: float


@dataclass
class _Batch:
    customers: list[Row] = field(default_factory=list)
    followups: list[Row] = field(default_factory=list)
    change_log: list[Row] = field(default_factory=list)


def _weighted(
    rng: random.Random, choices: Sequence[tuple[tuple[str, ...], int]]
) -> tuple[str, ...]:
    return rng.choices([path for path, _ in choices], [w for _, w in choices])[0]


def _clear_hash(value: str | None) -> str | None:
    """The lookup hash of a phone or email in a database without a field key (storage/crypto.py:
    plain SHA-256), which lookups and the unique indexes use."""
    return None if value is None else hashlib.sha256(value.encode()).hexdigest()


def _cn_phone(n: int) -> str:
    prefix = CN_MOBILE[n % len(CN_MOBILE)]
    # 7919 is prime to 10^8, so distinct n give distinct subscriber numbers.
    return f"+86{prefix}{(n // len(CN_MOBILE) * 7919 + 12_345_678) % 100_000_000:08d}"


def _us_phone(n: int) -> str:
    area = US_AREAS[n % len(US_AREAS)]
    rest = n // len(US_AREAS)
    exchange = US_EXCHANGES[rest % len(US_EXCHANGES)]
    return f"+1{area}{exchange}{rest // len(US_EXCHANGES) % 10_000:04d}"


class _People:
    """Names, companies and contacts for customer number n, in Chinese or English."""

    def __init__(self, rng: random.Random, customers: int) -> None:
        self._rng = rng
        # About four contacts per company, so the summary's look-alike check has work to do.
        self._companies = max(1, customers // 4)
        self._keys: dict[str, str] = {}
        self._company_keys: dict[str, str] = {}

    def company(self, n: int, english: bool) -> tuple[str, str]:
        """(company name, its web domain) for company slot n."""
        slot = n % self._companies
        if english:
            brand = EN_BRANDS[slot % len(EN_BRANDS)]
            trade = EN_TRADES[slot // len(EN_BRANDS) % len(EN_TRADES)]
            form = EN_FORMS[slot % len(EN_FORMS)]
            number = slot // (len(EN_BRANDS) * len(EN_TRADES))
            suffix = f" {number}" if number else ""
            return f"{brand} {trade}{suffix} {form}", f"{brand}{trade}{number or ''}.com".lower()
        city = CITIES[slot % len(CITIES)]
        brand, pinyin = BRANDS[slot // len(CITIES) % len(BRANDS)]
        trade = TRADES[slot // (len(CITIES) * len(BRANDS)) % len(TRADES)]
        number = slot // (len(CITIES) * len(BRANDS) * len(TRADES))
        form = CN_FORMS[slot % len(CN_FORMS)]
        branch = f"第{number}分部" if number else ""
        return f"{city}{brand}{trade}{form}{branch}", f"{pinyin}{number or ''}.com.cn"

    def customer(self, n: int) -> tuple[str, str, str | None, str | None, str, str]:
        rng = self._rng
        english = rng.random() < 0.25
        company, domain = self.company(rng.randrange(self._companies), english)
        if english:
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            name = f"{first} {last}"
            mailbox = f"{first}.{last}{n}".lower()
            phone: str | None = _us_phone(n) if rng.random() < 0.4 else _cn_phone(n)
            domains: Sequence[str] = (domain, domain, "gmail.com", "outlook.com")
        else:
            surname, surname_pinyin = rng.choice(SURNAMES)
            given = rng.sample(GIVEN, 2 if rng.random() < 0.6 else 1)
            name = surname + "".join(chars for chars, _ in given)
            mailbox = surname_pinyin + "".join(sound for _, sound in given) + str(n)
            phone = _cn_phone(n)
            domains = (domain, *CN_MAIL)
        roll = rng.random()
        email = f"{mailbox}@{rng.choice(domains)}" if roll < 0.55 else None
        if roll > 0.95:  # some are known by email alone
            phone, email = None, f"{mailbox}@{rng.choice(domains)}"
        return name, company, phone, email, self._name_key(name), self._company_key(company)

    def _name_key(self, name: str) -> str:
        key = self._keys.get(name)
        if key is None:
            key = self._keys[name] = normalize_person(name)
        return key

    def _company_key(self, company: str) -> str:
        key = self._company_keys.get(company)
        if key is None:
            key = self._company_keys[company] = normalize_company(company)
        return key


def _plan_counts(rng: random.Random, customers: int, followups: int) -> list[int]:
    """Follow-ups per customer: at least one each, the rest spread unevenly."""
    counts = [1] * customers
    for _ in range(followups - customers):
        # The smaller of two draws: a few customers get long histories, many get short ones.
        counts[min(rng.randrange(customers), rng.randrange(customers))] += 1
    rng.shuffle(counts)
    return counts


def _kinds(rng: random.Random, customers: int, open_count: int, due: int) -> bytearray:
    """Per customer: 0 = nothing open, 1 = open and not yet due, 2 = due now."""
    kinds = bytearray(customers)
    chosen = rng.sample(range(customers), open_count)
    for index, n in enumerate(chosen):
        kinds[n] = 2 if index < due else 1
    return kinds


class _Writer:
    """Appends rows to one database: executemany on SQLite, COPY on PostgreSQL."""

    def __init__(self, db: Database) -> None:
        self.sqlite = is_sqlite(db.url)
        self._raw = db.engine.raw_connection()
        connection = self._raw.driver_connection
        if connection is None:
            raise RuntimeError("no database connection")
        self._connection: Any = connection
        self._indexes: list[tuple[str, str]] = []
        inspector = inspect(db.engine)
        # Databases from field encryption on (migration 0013) keep lookup hashes beside phone and
        # email; a database with a field key would also need every such value encrypted.
        self.lookup_hashes = "phone_hash" in {c["name"] for c in inspector.get_columns("customers")}
        self.customer_columns = CUSTOMER_COLUMNS + (
            ("phone_hash", "email_hash") if self.lookup_hashes else ()
        )
        if inspector.has_table("crypto_state"):
            with db.reader() as session:
                keyed = session.scalar(
                    text("SELECT count(*) FROM crypto_state WHERE key_id IS NOT NULL")
                )
            if keyed:
                raise ValueError(
                    "this database's fields are encrypted: seed a clear one, then run "
                    "`followup-bot rotate-key`"
                )
        if self.sqlite:
            cursor = self._connection.cursor()
            # A bigger page cache, and no fsync per chunk: a seed that dies is simply rerun.
            cursor.execute("PRAGMA cache_size=-262144")
            cursor.execute("PRAGMA synchronous=OFF")
            cursor.close()

    def drop_indexes(self) -> None:
        """Loading is faster with the secondary indexes built once at the end (1,000,000
        follow-ups on SQLite: 69 s → 45 s); their definitions are read back from the database."""
        cursor = self._connection.cursor()
        if self.sqlite:
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                "AND tbl_name IN ('customers', 'followups', 'change_log')"
            )
        else:  # indexes that back a primary key or unique constraint stay
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                "AND tablename IN ('customers', 'followups', 'change_log') AND NOT EXISTS "
                "(SELECT 1 FROM pg_constraint WHERE conname = indexname)"
            )
        self._indexes = [(str(name), str(sql)) for name, sql in cursor.fetchall()]
        for name, _ in self._indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        cursor.close()
        if not self.sqlite:
            self._connection.commit()

    def create_indexes(self) -> None:
        if self.sqlite and self._connection.in_transaction:  # a failed load left one open
            self._connection.execute("ROLLBACK")
        if not self.sqlite:
            self._connection.rollback()
        cursor = self._connection.cursor()
        for _, sql in self._indexes:
            cursor.execute(sql)
        cursor.close()
        if not self.sqlite:
            self._connection.commit()
        self._indexes = []

    def stamp(self, seconds: float) -> Any:
        """A UTC instant as the column stores it (SQLAlchemy's SQLite text form, or a datetime)."""
        if self.sqlite:
            return (_NAIVE_EPOCH + timedelta(seconds=seconds)).isoformat(" ", "microseconds")
        return datetime.fromtimestamp(seconds, UTC)

    def count(self, table: str) -> int:
        cursor = self._connection.cursor()
        cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - a fixed table name
        (found,) = cursor.fetchone()
        cursor.close()
        return int(found)

    def write(self, batch: _Batch) -> None:
        tables = (
            ("customers", self.customer_columns, batch.customers),
            ("followups", FOLLOWUP_COLUMNS, batch.followups),
            ("change_log", CHANGE_LOG_COLUMNS, batch.change_log),
        )
        if self.sqlite:
            cursor = self._connection.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            for table, columns, rows in tables:
                if rows:
                    names = ", ".join(f'"{c}"' for c in columns)
                    marks = ", ".join("?" for _ in columns)
                    cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)  # noqa: S608
            cursor.execute("COMMIT")
            cursor.close()
            return
        with self._connection.cursor() as cursor:
            for table, columns, rows in tables:
                if rows:
                    names = ", ".join(f'"{c}"' for c in columns)
                    with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
        self._connection.commit()

    def finish(self) -> None:
        """Let the next id come after the seeded ones, and give the planner fresh statistics
        (on PostgreSQL, as autovacuum would; SQLite is left as an app database would be)."""
        if not self.sqlite:
            with self._connection.cursor() as cursor:
                for table in ("customers", "followups"):
                    cursor.execute(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                        f"(SELECT max(id) FROM {table}))"
                    )
            self._connection.commit()
            self._connection.autocommit = True
            with self._connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")
            self._connection.autocommit = False

    def close(self) -> None:
        self._raw.close()


def _customer_history(
    rng: random.Random,
    writer: _Writer,
    batch: _Batch,
    people: _People,
    *,
    n: int,
    customer_id: int,
    next_followup_id: int,
    count: int,
    kind: int,
    owner: str,
    now: float,
) -> int:
    """Append customer n, its follow-ups and its change-log rows; return the next follow-up id."""
    english_texts = rng.random() < 0.25
    paths = OPEN_PATHS if kind else CLOSED_PATHS
    path = _weighted(rng, paths)
    escalated = False
    # The latest follow-up decides everything else: when it happened and when it is next due.
    if kind == 2:  # due now: its reminder time has just come
        next_at = now - rng.uniform(0, 2 * HOUR)
        remind_at: float | None = next_at
        last = next_at - rng.uniform(1, 14) * DAY
    elif kind == 1 and rng.random() < 0.1:  # overdue, already reminded (and escalated if late)
        next_at = now - rng.uniform(1 * HOUR, 30 * DAY)
        remind_at = None
        escalated = now - next_at >= ESCALATE_AFTER.total_seconds()
        last = next_at - rng.uniform(1, 14) * DAY
    elif kind == 1:
        next_at = now + rng.uniform(1 * HOUR, 60 * DAY)
        remind_at = next_at
        last = now - rng.uniform(0.5 * HOUR, 30 * DAY)
    else:
        last = now - rng.uniform(1, 180) * DAY
        next_at = last
        remind_at = None
    span = rng.uniform(1, 540) * DAY if count > 1 else 0.0
    first = last - span
    step = span / (count - 1) if count > 1 else 0.0
    contacted = [
        first + step * (j + (rng.uniform(-0.3, 0.3) if 0 < j < count - 1 else 0.0))
        for j in range(count)
    ]
    # Which status each follow-up left the customer in: the path, stretched over the history.
    statuses = [path[min(len(path) - 1, j * len(path) // count)] for j in range(count)]
    statuses[-1] = path[-1]
    name, company, phone, email, name_key, company_key = people.customer(n)
    created = first + rng.uniform(0, 600)
    updated = min(now, contacted[-1] + rng.uniform(0, 600))
    stamp = writer.stamp
    customer: Row = (
        customer_id, name, company, phone, email, owner, path[-1], 1, owner,
        stamp(created), stamp(updated), name_key, company_key, stamp(created),
    )  # fmt: skip
    if writer.lookup_hashes:
        customer += (_clear_hash(phone), _clear_hash(email))
    batch.customers.append(customer)
    fields = {
        "name": name,
        "company": company,
        "phone_e164": phone,
        "email": email,
        "owner_id": owner,
        "status": statuses[0],
    }
    batch.change_log.append(
        (stamp(created), owner, "customer", customer_id, "create", None, json.dumps(fields))
    )
    methods = METHODS_EN if english_texts else METHODS_ZH
    summaries = SUMMARIES_EN if english_texts else SUMMARIES_ZH
    feedbacks = FEEDBACK_EN if english_texts else FEEDBACK_ZH
    actions = NEXT_EN if english_texts else NEXT_ZH
    followup_id = next_followup_id
    for j in range(count):
        at = contacted[j]
        created_at = min(now, at + rng.uniform(0, 2 * HOUR))
        latest = j == count - 1
        if latest and kind:
            state, done_at, done_by, planned = "open", None, None, next_at
        elif latest:  # closed for good: lost at once, or marked done after the deal
            state, done_by, planned = "done", owner, next_at
            done_at = at if statuses[j] == "lost" else min(now, at + rng.uniform(0, 3) * DAY)
        else:  # superseded by the next entry, as a new row in the sheet would be
            state, done_at, done_by, planned = "done", contacted[j + 1], owner, contacted[j + 1]
        note = rng.choice(NOTES)
        batch.followups.append(
            (
                followup_id, customer_id, owner, owner, stamp(at), rng.choice(methods),
                rng.choice(summaries), rng.choice(feedbacks), statuses[j], stamp(planned),
                rng.choice(actions), note or None, state, 1, stamp(created_at),
                None if done_at is None else stamp(done_at), done_by,
                stamp(remind_at) if latest and remind_at is not None else None, 0,
                escalated if latest else False,
            )
        )  # fmt: skip
        if j and statuses[j] != statuses[j - 1]:
            batch.change_log.append(
                (
                    stamp(created_at), owner, "customer", customer_id, "update",
                    json.dumps({"status": statuses[j - 1]}), json.dumps({"status": statuses[j]}),
                )
            )  # fmt: skip
        followup_id += 1
    return followup_id


def _load(
    writer: _Writer,
    *,
    customers: int,
    followups: int,
    open_count: int,
    due: int,
    owners: int,
    now: float,
    change_log: bool,
    random_seed: int,
    progress: Callable[[str], None] | None,
) -> int:
    """Write every customer with its history; return the number of change-log rows."""
    started = time.perf_counter()
    rng = random.Random(random_seed)
    counts = _plan_counts(rng, customers, followups)
    kinds = _kinds(rng, customers, open_count, due)
    people = _People(rng, customers)
    owner_ids = [owner_id(n) for n in range(owners)]
    followup_id, logged = 1, 0
    for start in range(0, customers, CHUNK_CUSTOMERS):
        batch = _Batch()
        for n in range(start, min(start + CHUNK_CUSTOMERS, customers)):
            followup_id = _customer_history(
                rng,
                writer,
                batch,
                people,
                n=n,
                customer_id=n + 1,
                next_followup_id=followup_id,
                count=counts[n],
                kind=kinds[n],
                owner=owner_ids[n % owners],
                now=now,
            )
        if not change_log:
            batch.change_log.clear()
        logged += len(batch.change_log)
        writer.write(batch)
        if progress is not None:
            progress(f"{followup_id - 1:,} follow-ups ({time.perf_counter() - started:.0f} s)")
    return logged


def seed(
    database_url: str,
    *,
    customers: int,
    followups: int,
    due: int = 0,
    owners: int = DEFAULT_OWNERS,
    open_followups: int | None = None,
    now: datetime | None = None,
    change_log: bool = True,
    random_seed: int = 8,
    progress: Callable[[str], None] | None = None,
) -> SeedResult:
    """Migrate `database_url` and fill it (its customer and follow-up tables must be empty).

    `open_followups` customers (default 90%) have an open follow-up, `due` of them due at `now`
    (default: the current time). Returns what was written and how long it took.
    """
    open_count = customers - customers // 10 if open_followups is None else open_followups
    if customers < 1 or owners < 1:
        raise ValueError("need at least one customer and one owner")
    if followups < customers:
        raise ValueError("every customer has at least one follow-up: --followups >= --customers")
    if not 0 <= due <= open_count <= customers:
        raise ValueError("need 0 <= due <= open follow-ups <= customers")
    moment = (now or datetime.now(UTC)).timestamp()
    started = time.perf_counter()
    upgrade(database_url)
    db = Database(database_url)
    writer = _Writer(db)
    try:
        if writer.count("customers") or writer.count("followups"):
            raise ValueError("seed fills an empty database; this one has customers already")
        writer.drop_indexes()
        try:
            logged = _load(
                writer,
                customers=customers,
                followups=followups,
                open_count=open_count,
                due=due,
                owners=owners,
                now=moment,
                change_log=change_log,
                random_seed=random_seed,
                progress=progress,
            )
        finally:
            writer.create_indexes()
        writer.finish()
    finally:
        writer.close()
        db.dispose()
    return SeedResult(
        customers=customers,
        followups=followups,
        open=open_count,
        due=due,
        change_log=logged,
        seconds=time.perf_counter() - started,
    )


# --- where a bench runs: a given URL, a temporary SQLite file, or a throw-away PostgreSQL ------


def add_database_arguments(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--database-url", default=None, help="default: a new SQLite file in a temporary folder"
    )
    where.add_argument(
        "--postgres",
        action="store_true",
        help="start a throw-away PostgreSQL server from the machine's binaries and use it",
    )


@contextmanager
def bench_database(args: argparse.Namespace) -> Iterator[str]:
    """The database URL the arguments ask for; a throw-away server is stopped afterwards."""
    if args.postgres:
        with throwaway_postgres() as url:
            yield url
    elif args.database_url:
        yield args.database_url
    else:
        with tempfile.TemporaryDirectory(prefix="followup-bench-") as folder:
            yield f"sqlite:///{Path(folder) / 'bench.db'}"


def database_versions(url: str) -> str:
    db = Database(url)
    try:
        with db.reader() as session:
            if is_sqlite(url):
                return f"SQLite {session.scalar(text('SELECT sqlite_version()'))}"
            return f"PostgreSQL {session.scalar(text('SHOW server_version'))}"
    finally:
        db.dispose()


def main(argv: Sequence[str] | None = None) -> SeedResult:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_database_arguments(parser)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--followups", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--owners", type=int, default=DEFAULT_OWNERS)
    parser.add_argument("--open", type=int, default=None, help="default: 90%% of customers")
    parser.add_argument(
        "--now",
        type=datetime.fromisoformat,
        default=None,
        help="when --due follow-ups are due (ISO 8601 with offset); default: now",
    )
    parser.add_argument("--no-change-log", action="store_true")
    args = parser.parse_args(argv)
    if args.now is not None and args.now.tzinfo is None:
        parser.error("--now needs a UTC offset, e.g. 2026-12-01T09:00+00:00")
    with bench_database(args) as url:
        try:
            result = seed(
                url,
                customers=args.customers,
                followups=args.followups,
                due=args.due,
                owners=args.owners,
                open_followups=args.open,
                now=args.now,
                change_log=not args.no_change_log,
                progress=lambda line: print(f"  {line}", file=sys.stderr, flush=True),
            )
        except ValueError as error:
            parser.error(str(error))
        print(
            f"{database_versions(url)}: seeded {result.customers:,} customers, "
            f"{result.followups:,} follow-ups ({result.open:,} open, {result.due:,} due), "
            f"{result.change_log:,} change-log rows in {result.seconds:.1f} s "
            f"({result.followups / result.seconds:,.0f} follow-ups/s)"
        )
    return result


if __name__ == "__main__":
    main()
