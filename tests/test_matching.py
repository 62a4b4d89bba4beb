"""Finding customers as reps type them: normalisation, query kinds, ranking, duplicate scores."""

from __future__ import annotations

import pytest

from bot.matching import (
    Candidate,
    Match,
    classify_query,
    likely_same_customer,
    normalize_company,
    normalize_person,
    rank_customers,
)

REGION = "CN"

# ---------------------------------------------------------------------------------------------
# Company names
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("上海某某科技有限公司", "上海某某科技"),
        ("上海某某科技股份有限公司", "上海某某科技"),
        ("上海某某科技有限责任公司", "上海某某科技"),
        ("上海某某科技有限公司", "上海 某某 科技"),
        ("ACME Co., Ltd.", "Acme"),
        ("ACME Co.,Ltd", "Acme"),
        ("Acme Inc.", "ACME"),
        ("ＡＣＭＥ　Ｉｎｃ．", "acme"),  # full-width, as typed by a Chinese IME
        ("ＡＣＭＥ　Inc.", "Acme"),
        ("Acme Corporation", "acme"),
        ("Acme L.L.C.", "Acme LLC"),
        ("Acme GmbH & Co. KG", "Acme"),
        ("Acme Pte. Ltd.", "Acme"),
        ("Acme S.A.", "Acme"),
        ("ACME有限公司", "Acme"),
        ("某某科技 Co., Ltd.", "某某科技"),
        # A branch keeps its place name, written with or without the parent's legal form.
        ("上海某某科技有限公司北京分公司", "上海某某科技北京分公司"),
    ],
)
def test_company_names_that_are_the_same_company(a: str, b: str) -> None:
    assert normalize_company(a) == normalize_company(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("北京某某科技", "上海某某科技"),  # place names are kept: different companies
        ("北京某某科技有限公司", "上海某某科技有限公司"),
        ("Acme Trading LLC", "Acme"),  # "Trading" is part of the name
        ("Acme Group", "Acme"),
        ("某某集团有限公司", "某某有限公司"),  # 集团 is kept, like "Group"
        ("某某科技", "某某电子"),
        ("上海某某科技北京分公司", "上海某某科技"),  # a branch is not the head office
    ],
)
def test_company_names_that_are_different_companies(a: str, b: str) -> None:
    assert normalize_company(a) != normalize_company(b)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("上海某某科技有限公司", "上海某某科技"),
        ("某某集团股份有限公司", "某某集团"),
        ("某某（上海）科技有限公司", "某某上海科技"),  # full-width brackets, place kept
        ("ACME Co., Ltd.", "acme"),
        ("Acme Trading LLC", "acmetrading"),
        ("McDonald's Corp", "mcdonalds"),
        # Nothing but a legal form: kept rather than emptied, so it can't equal everything.
        ("Company", "company"),
        ("有限公司", "有限公司"),
        ("", ""),
        ("  ", ""),
    ],
)
def test_normalize_company_output(raw: str, expected: str) -> None:
    assert normalize_company(raw) == expected


# ---------------------------------------------------------------------------------------------
# People's names
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("王 磊", "王磊"),
        ("王\u3000磊", "王磊"),  # ideographic space
        ("Mr. John Smith", "john smith"),
        ("Dr John   SMITH", "John Smith"),
        ("Ｊｏｈｎ Ｓｍｉｔｈ", "john smith"),
        ("王总", "王"),  # boss Wang: the surname only
        ("王 总", "王"),
        ("陈董", "陈"),
        ("刘工", "刘"),
        ("老王", "王"),
        ("欧阳总", "欧阳"),  # compound surname
        ("王磊先生", "王磊"),
        ("李娜女士", "李娜"),
        ("李经理", "李"),
        ("Wang Lei 先生", "wang lei"),
        ("王磊(采购)", "王磊"),  # bracketed notes are not the name
        ("王磊（采购经理）", "王磊"),
        ("O'Brien", "OBrien"),
        ("O’Brien", "o'brien"),
        ("约翰·史密斯", "约翰史密斯"),
    ],
)
def test_person_names_that_are_the_same(a: str, b: str) -> None:
    assert normalize_person(a) == normalize_person(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("王磊", "王蕾"),
        ("王总", "李总"),
        ("王磊", "王"),  # a full name is not just the surname
        ("John Smith", "Jane Smith"),
        ("Wang Lei", "Lei Wang"),  # order is kept; matching handles it
        ("王磊总", "王磊"),  # 总 after a full name may be part of it: not stripped
    ],
)
def test_person_names_that_are_different(a: str, b: str) -> None:
    assert normalize_person(a) != normalize_person(b)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Mr.  John   Smith ", "john smith"),
        ("王 磊", "王磊"),
        ("王总", "王"),
        ("Dr", "dr"),  # nothing but an honorific: kept
        ("先生", "先生"),
        ("", ""),
    ],
)
def test_normalize_person_output(raw: str, expected: str) -> None:
    assert normalize_person(raw) == expected


# ---------------------------------------------------------------------------------------------
# What kind of query
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("+86 138 0013 8000", ("phone", "+8613800138000")),
        ("13800138000", ("phone", "+8613800138000")),
        ("138-0013-8000", ("phone", "+8613800138000")),
        ("0086 138 0013 8000", ("phone", "+8613800138000")),
        ("＋８６ １３８ ００１３ ８０００", ("phone", "+8613800138000")),
        ("Wang.Lei@Mingde.CN", ("email", "wang.lei@mingde.cn")),
        ("  wang.lei＠mingde.cn ", ("email", "wang.lei@mingde.cn")),
        # Looks like one, but isn't valid: searched as text instead of refused.
        ("wang@mingde", ("text", "wang@mingde")),
        ("8000", ("text", "8000")),
        ("3M", ("text", "3M")),
        ("58同城", ("text", "58同城")),
        ("  Acme Co., Ltd. ", ("text", "Acme Co., Ltd.")),
        ("\u3000王磊\u200b", ("text", "王磊")),
    ],
)
def test_classify_query(query: str, expected: tuple[str, str]) -> None:
    assert classify_query(query, REGION) == expected


# ---------------------------------------------------------------------------------------------
# Ranking
# ---------------------------------------------------------------------------------------------

WANG_LEI = Candidate(1, "王磊", "上海某某科技有限公司", "+8613800138000", "wang.lei@mingde.cn")
JOHN_SMITH = Candidate(2, "John Smith", "ACME", "+12125550100", "john.smith@acme.com")
LI_NA = Candidate(3, "李娜", "北京某某科技有限公司", "+8613900139000", None)
JANE_DOE = Candidate(4, "Jane Doe", "Acme Trading LLC", None, "jane@acmetrading.com")
ZHANG_WEI = Candidate(5, "张伟", "深圳华信电子股份有限公司", "+8613700137000", None)
OTHER_WANG_LEI = Candidate(6, "王磊", "深圳华信电子股份有限公司", None, "wl@huaxin.cn")
BOSS_WANG = Candidate(7, "王总", "杭州天成贸易有限公司", None, None)
# A company name made of digits must not be found by a phone query.
DIGITS_CO = Candidate(8, "Peter Pan", "13800138000 Trading", None, None)

CUSTOMERS = (WANG_LEI, JOHN_SMITH, LI_NA, JANE_DOE, ZHANG_WEI, OTHER_WANG_LEI, BOSS_WANG, DIGITS_CO)


def rank(query: str, candidates: tuple[Candidate, ...] = CUSTOMERS, **options: int) -> list[Match]:
    return rank_customers(query, candidates, default_region=REGION, **options)


def ids(matches: list[Match]) -> list[int]:
    return [match.candidate.id for match in matches]


@pytest.mark.parametrize(
    "query",
    [
        "+86 138 0013 8000",
        "13800138000",
        "138 0013 8000",
        "0086-138-0013-8000",
        "＋８６１３８００１３８０００",
    ],
)
def test_phone_in_any_format_finds_exactly_that_customer(query: str) -> None:
    assert rank(query) == [Match(WANG_LEI, 100.0, "phone")]


@pytest.mark.parametrize(
    "query", ["wang.lei@mingde.cn", "WANG.LEI@MINGDE.CN", " Wang.Lei@Mingde.cn "]
)
def test_email_is_case_insensitive(query: str) -> None:
    assert rank(query) == [Match(WANG_LEI, 100.0, "email")]


def test_a_stored_email_in_capitals_is_still_found() -> None:
    shouting = Candidate(9, "Old Import", "Acme", None, "Old.Import@ACME.com")
    assert ids(rank("old.import@acme.com", (shouting,))) == [9]


@pytest.mark.parametrize("query", ["+86 139 1234 5678", "nobody@nowhere.com"])
def test_unknown_phone_or_email_finds_nothing_not_a_fuzzy_guess(query: str) -> None:
    assert rank(query) == []


@pytest.mark.parametrize(
    ("query", "expected_first", "reason"),
    [
        ("Acme Co., Ltd.", JOHN_SMITH, "company"),
        ("ACME", JOHN_SMITH, "company"),
        ("ＡＣＭＥ", JOHN_SMITH, "company"),
        ("上海某某科技", WANG_LEI, "company"),
        ("上海某某科技有限公司", WANG_LEI, "company"),
        ("Mr. John Smith", JOHN_SMITH, "name"),
        ("john smith", JOHN_SMITH, "name"),
        ("李娜", LI_NA, "name"),
        ("王总", BOSS_WANG, "name"),
    ],
)
def test_exact_after_normalisation_scores_100(
    query: str, expected_first: Candidate, reason: str
) -> None:
    first = rank(query)[0]
    assert first == Match(expected_first, 100.0, reason)


def test_fuzzy_company_lists_exact_before_longer_name() -> None:
    matches = rank("Acme Co., Ltd.")
    assert ids(matches) == [JOHN_SMITH.id, JANE_DOE.id]
    assert matches[0].score == 100.0
    assert 90.0 <= matches[1].score < 100.0  # "Acme" is a prefix of "Acme Trading"


def test_typo_still_finds_the_company_with_a_lower_score() -> None:
    matches = rank("Acne Co")
    assert ids(matches) == [JOHN_SMITH.id]
    assert matches[0].reason == "company"
    assert 70.0 <= matches[0].score < 90.0


def test_word_order_of_a_name_does_not_matter_much() -> None:
    matches = rank("Smith John")
    assert ids(matches) == [JOHN_SMITH.id]
    assert 95.0 <= matches[0].score < 100.0


def test_chinese_part_of_a_company_finds_it() -> None:
    matches = rank("某某科技")
    # Both 上海 and 北京 contain it; neither is exact. Equal scores: ordered by name.
    assert {m.candidate.id for m in matches} == {WANG_LEI.id, LI_NA.id}
    assert all(m.score >= 90.0 and m.reason == "company" for m in matches)


def test_chinese_prefix_with_a_place_finds_only_that_place() -> None:
    assert ids(rank("上海某某")) == [WANG_LEI.id]


def test_company_typed_longer_than_stored_is_found_lower() -> None:
    matches = rank("Acme Trading Shanghai", (JOHN_SMITH,))
    assert ids(matches) == [JOHN_SMITH.id]
    assert 70.0 <= matches[0].score < 90.0


def test_name_and_company_together_rank_that_customer_first() -> None:
    matches = rank("王磊 上海某某")
    assert matches[0] == Match(WANG_LEI, matches[0].score, "name+company")
    assert matches[0].score >= 95.0
    # The other 王磊 still shows, on the name alone and lower.
    assert OTHER_WANG_LEI.id in ids(matches)
    assert matches[ids(matches).index(OTHER_WANG_LEI.id)].score < matches[0].score


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Acme John Smith", JOHN_SMITH),
        ("John Smith, Acme", JOHN_SMITH),
        ("王磊，上海某某科技", WANG_LEI),
        ("上海某某科技 王磊", WANG_LEI),
        ("王磊/上海某某科技有限公司", WANG_LEI),
    ],
)
def test_name_and_company_in_either_order_and_separated_as_typed(
    query: str, expected: Candidate
) -> None:
    assert rank(query)[0] == Match(expected, 100.0, "name+company")


@pytest.mark.parametrize(
    "query",
    [
        "Zebra Logistics",
        "赵六",
        "ac",  # two Latin letters: too short to match inside names
        "",
        "   ",
        "wang@mingde",  # not a valid email, and not like any name
    ],
)
def test_no_match_returns_an_empty_list(query: str) -> None:
    assert rank(query) == []


@pytest.mark.parametrize("query", ["王总", "王", "王 总"])
def test_surname_alone_does_not_list_every_full_name(query: str) -> None:
    # Finds the customer stored as 王总 (surname 王), not every 王磊: one character would match
    # thousands of customers.
    assert ids(rank(query)) == [BOSS_WANG.id]


def test_results_are_ordered_exact_prefix_substring_fuzzy() -> None:
    candidates = (
        Candidate(10, "A", "Best Acme Supplies", None, None),  # substring
        Candidate(11, "B", "Acne", None, None),  # typo
        Candidate(12, "C", "Acme Trading", None, None),  # prefix
        Candidate(13, "D", "ACME Co., Ltd.", None, None),  # exact after normalisation
    )
    matches = rank("acme", candidates)
    assert ids(matches) == [13, 12, 10, 11]
    scores = [m.score for m in matches]
    assert scores == sorted(scores, reverse=True)
    assert len(set(scores)) == len(scores)


def test_many_matches_are_limited_and_ties_go_by_name_then_id() -> None:
    same_company = tuple(
        Candidate(100 + i, name, "上海某某科技有限公司", None, None)
        for i, name in enumerate(["Zoe", "amy", "Bob", "Amy", "Carl", "Dan", "Eve", "Fay"])
    )
    matches = rank("上海某某科技", same_company, limit=5)
    assert [m.score for m in matches] == [100.0] * 5
    # Name first (case-insensitively), then id: the two Amys by id.
    assert [(m.candidate.name, m.candidate.id) for m in matches] == [
        ("amy", 101),
        ("Amy", 103),
        ("Bob", 102),
        ("Carl", 104),
        ("Dan", 105),
    ]


def test_limit_applies_to_the_best_not_the_first_seen() -> None:
    prefixes = (Candidate(200 + i, f"P{i}", f"Acme Trading {i}", None, None) for i in range(20))
    weak_first = (*prefixes, Candidate(299, "Exact", "Acme", None, None))
    assert ids(rank("Acme", weak_first, limit=1)) == [299]


def test_min_score_and_zero_limit() -> None:
    assert all(m.score >= 95.0 for m in rank("acme", CUSTOMERS, min_score=95))
    assert ids(rank("acme", CUSTOMERS, min_score=95)) == [JOHN_SMITH.id, JANE_DOE.id]
    assert ids(rank("acme", CUSTOMERS, min_score=100)) == [JOHN_SMITH.id]
    assert rank("acme", CUSTOMERS, limit=0) == []


def test_candidates_can_be_any_iterable() -> None:
    assert ids(rank_customers("李娜", iter(CUSTOMERS), default_region=REGION)) == [LI_NA.id]


def test_phone_region_is_used_for_numbers_without_country_code() -> None:
    us = Candidate(20, "Ann Lee", "Globex", "+12125550100", None)
    assert ids(rank_customers("(212) 555-0100", [us], default_region="US")) == [20]
    assert rank_customers("(212) 555-0100", [us], default_region="CN") == []


# ---------------------------------------------------------------------------------------------
# Duplicate detection
# ---------------------------------------------------------------------------------------------

LIKELY = 90.0  # at or above: the same customer
UNLIKELY = 75.0  # below: different customers; in between: worth asking the rep


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (("王磊", "上海某某科技有限公司"), ("王 磊", "上海某某科技")),
        (("John Smith", "ACME Co., Ltd."), ("Mr. John Smith", "Acme")),
        (("John Smith", "ＡＣＭＥ　Ｉｎｃ．"), ("john smith", "acme")),
        (("Lei Wang", "Acme"), ("Wang Lei", "Acme Inc.")),  # name order
        (("johnsmith", "Acme"), ("John Smith", "Acme")),
        (("王磊", "某某科技"), ("王磊", "上海某某科技有限公司")),  # the city left out
        (("王磊先生", "上海某某科技股份有限公司"), ("王磊", "上海某某科技")),
    ],
)
def test_the_same_customer(a: tuple[str, str], b: tuple[str, str]) -> None:
    assert likely_same_customer(*a, *b) >= LIKELY
    assert likely_same_customer(*b, *a) == likely_same_customer(*a, *b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (("王总", "上海某某科技有限公司"), ("王磊", "上海某某科技")),  # surname only
        (("Mr. Smith", "Acme"), ("John Smith", "Acme Inc.")),
        (("Jon Smith", "Acme"), ("John Smith", "Acme")),  # one letter off in a given name
    ],
)
def test_possibly_the_same_customer(a: tuple[str, str], b: tuple[str, str]) -> None:
    assert UNLIKELY <= likely_same_customer(*a, *b) < LIKELY


@pytest.mark.parametrize(
    ("a", "b"),
    [
        # Same company, different person: two customers.
        (("王磊", "上海某某科技有限公司"), ("李娜", "上海某某科技有限公司")),
        (("John Smith", "Acme"), ("Jane Smith", "ACME Co., Ltd.")),
        (("王磊", "上海某某科技"), ("王蕾", "上海某某科技")),
        # Same name, different company: two customers.
        (("王磊", "上海某某科技"), ("王磊", "北京某某科技")),
        (("John Smith", "Acme"), ("John Smith", "Globex")),
        (("John Smith", "Acme"), ("John Smith", "Acne")),  # companies only 75% alike
        # Nothing to compare.
        (("", ""), ("", "")),
    ],
)
def test_different_customers(a: tuple[str, str], b: tuple[str, str]) -> None:
    assert likely_same_customer(*a, *b) < UNLIKELY


def test_likely_same_customer_is_a_score_in_range() -> None:
    score = likely_same_customer("王磊", "上海某某科技", "王磊", "上海某某科技")
    assert score == 100.0


# ---------------------------------------------------------------------------------------------
# The fast path agrees with scoring everyone
# ---------------------------------------------------------------------------------------------


def _generated_customers() -> tuple[Candidate, ...]:
    surnames, given = "王李张刘陈", ["磊", "娜", "伟", "小明", "芳"]
    places, cores = ["上海", "北京", ""], ["某某科技", "华信电子", "天成贸易"]
    forms = ["有限公司", "股份有限公司", ""]
    people = [s + g for s in surnames for g in given] + ["John Smith", "Jane Doe", "Lei Wang"]
    firms = [p + c + f for p in places for c in cores for f in forms] + [
        "Acme Co., Ltd.",
        "Acme Trading LLC",
        "Acne",
        "Best Acme Supplies",
    ]
    return tuple(
        Candidate(i, people[i % len(people)], firms[(i * 7) % len(firms)], None, None)
        for i in range(300)
    )


@pytest.mark.parametrize(
    "query",
    ["王磊", "某某科技", "上海华信", "Acme", "acne co", "John Smith", "wang lei acme", "天成 李娜"],
)
def test_prefiltered_ranking_equals_scoring_every_candidate(query: str) -> None:
    # min_score=0 lets every candidate through rapidfuzz's prefilter, so it is the brute force.
    pool = _generated_customers()
    everyone = rank_customers(query, pool, default_region=REGION, limit=len(pool), min_score=0)
    expected = [m for m in everyone if m.score >= 70.0]
    assert expected, "the query should match something"
    fast = rank_customers(query, pool, default_region=REGION, limit=len(pool), min_score=70.0)
    assert fast == expected
