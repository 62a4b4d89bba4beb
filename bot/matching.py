"""Finding customers the way sales reps type them, in English and Chinese.

Pure functions only: no Slack, no database. Used by ``/followup find …`` and, later, by duplicate
detection at entry and in spreadsheet import, so the normalisation here decides what counts as
"the same" name or company everywhere.

Scoring, in words (0..100, higher is better):

* exact equality after normalisation: 100;
* the query is a prefix of the name or company: 95..99, more the more of it the query covers;
* the query is inside it elsewhere: 90..95 ("某某科技" in "上海某某科技");
* the name or company is inside the query: 80..90 ("Acme" found by "Acme Trading");
* otherwise fuzzy: the best of ``fuzz.ratio`` (edit similarity of the whole strings: catches
  typos such as "Acne" for "Acme"), ``fuzz.token_sort_ratio`` for people (word order: "Lei Wang"
  is "Wang Lei") and ``0.9 * fuzz.partial_ratio`` (a near-substring: "mingde technlogy" in
  "Shanghai Mingde Technology"), capped at 99 so only equality scores 100.

Containment and partial matching count only for strings of at least two Chinese characters or
three Latin ones. ``fuzz.WRatio`` was not used because it has no such floor — it scores "王"
against "王磊" 90, which would list every Wang — and because its token-set component scores
"Smith" against "John Smith" as a full match, which duplicate detection must not do. The ratio
family works unchanged on Chinese, where every character is one unit and strings are short.
"""

from __future__ import annotations

import heapq
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Literal

from rapidfuzz import fuzz, process

from bot.validation import FieldError, clean_text, normalize_email, normalize_phone

Reason = Literal["phone", "email", "name", "company", "name+company"]
QueryKind = Literal["phone", "email", "text"]

__all__ = [
    "Candidate",
    "Match",
    "classify_query",
    "likely_same_customer",
    "normalize_company",
    "normalize_person",
    "rank_customers",
]

# ---------------------------------------------------------------------------------------------
# Scripts and tokens
# ---------------------------------------------------------------------------------------------

_HAN_RANGES = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003ffff"
# A token is a run of Han characters or a run of other letters and digits. Splitting where the
# script changes lets "ACME有限公司" lose its suffix and "某某科技Co." its "Co".
_TOKEN = re.compile(rf"[{_HAN_RANGES}]+|[^\W_{_HAN_RANGES}]+")
_HAN_TOKEN = re.compile(rf"[{_HAN_RANGES}]+")


def _is_han_token(token: str) -> bool:
    return _HAN_TOKEN.fullmatch(token) is not None


def _fold(text: str) -> str:
    """NFKC (full-width letters, digits, spaces and brackets → ASCII), then casefold."""
    return unicodedata.normalize("NFKC", text).casefold()


def _tokens(folded: str) -> list[str]:
    return _TOKEN.findall(folded)


# ---------------------------------------------------------------------------------------------
# Companies
# ---------------------------------------------------------------------------------------------

# Legal forms say what kind of entity a company is, not which one, and reps leave them out.
# Descriptive words — "Trading", "Group", "Holdings", "International" — are part of the name and
# stay: "Acme Trading" and "Acme Group" may be different companies from "Acme".
_LATIN_LEGAL_FORMS = (
    "co", "company", "corp", "corporation", "inc", "incorporated", "ltd", "limited",
    "llc", "l.l.c.", "llp", "l.l.p.", "plc", "gmbh", "ag", "kg", "sa", "s.a.", "pte", "pty",
    "bv", "b.v.", "nv", "n.v.", "srl", "s.r.l.", "sarl", "s.a.r.l.", "spa", "s.p.a.",
    "kk", "k.k.", "sdn bhd", "bhd", "pvt", "private limited",
)  # fmt: skip

# Longest first, so that "股份有限公司" goes as a whole rather than leaving "股份".
# 集团 is deliberately absent, like "Group": "某某集团" (the group) and "某某科技" (one of its
# operating companies) are different legal entities with different buyers, and a search for
# "某某" still finds "某某集团" as a prefix. 分公司 (branch) is handled by _strip_branch.
_CHINESE_LEGAL_FORMS = tuple(
    sorted(
        (
            "股份有限公司", "有限责任公司", "有限責任公司", "有限公司", "股份公司", "总公司",
            "總公司", "公司", "有限合伙", "有限合夥",
        ),
        key=len,
        reverse=True,
    )
)  # fmt: skip
_CHINESE_BRANCH = "分公司"


def _as_token_sequence(written: str) -> tuple[str, ...]:
    return tuple(_tokens(_fold(written)))


def _sequences_by_last_token(forms: Iterable[str]) -> dict[str, list[tuple[str, ...]]]:
    """Legal forms as token sequences, indexed by their last token, longest first.

    "L.L.C." tokenises to ("l", "l", "c") and "Sdn Bhd" to ("sdn", "bhd"), so whole sequences
    must match. The index lets a company's last word find its few candidates at once:
    normalising 100,000 names has to be cheap.
    """
    index: dict[str, list[tuple[str, ...]]] = {}
    for sequence in sorted({_as_token_sequence(form) for form in forms}, key=len, reverse=True):
        index.setdefault(sequence[-1], []).append(sequence)
    return index


_LATIN_LEGAL_SEQUENCES = _sequences_by_last_token(_LATIN_LEGAL_FORMS)


def _strip_branch(han: str) -> str:
    """Drop 分公司 and the parent's legal form; the branch keeps its place name.

    "上海某某科技有限公司北京分公司" → "上海某某科技北京".

    A branch is written both with the parent's legal form ("…有限公司北京分公司") and without it
    ("…北京分公司"); both must come out the same.
    """
    head = han.removesuffix(_CHINESE_BRANCH)
    for form in _CHINESE_LEGAL_FORMS:
        position = head.rfind(form)
        if position > 0:
            return head[:position] + head[position + len(form) :]
    return head


def _strip_one_legal_form(tokens: list[str]) -> bool:
    """Remove one legal form from the end of tokens; False when there is none."""
    last = tokens[-1]
    if _is_han_token(last):
        if last.endswith(_CHINESE_BRANCH) and len(last) > len(_CHINESE_BRANCH):
            tokens[-1] = _strip_branch(last)
            return True
        for form in _CHINESE_LEGAL_FORMS:
            if last.endswith(form):
                remainder = last.removesuffix(form)
                if remainder:
                    tokens[-1] = remainder
                else:
                    tokens.pop()
                return True
        return False
    for sequence in _LATIN_LEGAL_SEQUENCES.get(last, ()):
        if tuple(tokens[-len(sequence) :]) == sequence:
            del tokens[-len(sequence) :]
            return True
    return False


def normalize_company(name: str) -> str:
    """Comparable form of a company name.

    NFKC, casefold, legal forms stripped from the end (repeatedly: "Co., Ltd.", "GmbH & Co. KG",
    "股份有限公司"), then punctuation and whitespace removed. Place names stay ("上海某某科技" and
    "北京某某科技" are different companies), and so does 集团. A name that is nothing but a
    legal form ("Company", "公司") is kept rather than emptied.
    """
    tokens = _tokens(_fold(name))
    unstripped = "".join(tokens)
    while tokens and _strip_one_legal_form(tokens):
        pass
    return "".join(tokens) or unstripped


# ---------------------------------------------------------------------------------------------
# People
# ---------------------------------------------------------------------------------------------

_LATIN_HONORIFICS = frozenset(
    {"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "madam", "mme", "mlle"}
)

# Titles reps put after a Chinese surname or full name: "王磊先生", "李经理", "张老师".
_CHINESE_TITLES = tuple(
    sorted(
        (
            "先生", "女士", "小姐", "太太", "总经理", "经理", "总监", "总裁", "董事长", "主任",
            "老板", "老师", "教授", "博士",
        ),
        key=len,
        reverse=True,
    )
)  # fmt: skip

# One-character forms of address that only ever follow a bare surname: "王总" (boss Wang),
# "陈董", "刘工" (engineer Liu), "张姐", "李哥". Stripped only when a surname is all that is left,
# because 总 or 工 after a full name may be part of the given name.
_SURNAME_TITLES = frozenset("总董工姐哥")
# 老王 / 小王: familiar address, again only in front of a bare surname.
_SURNAME_PREFIXES = frozenset("老小")
_COMPOUND_SURNAMES = frozenset(
    {
        "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐", "司徒",
        "夏侯", "长孙", "宇文", "端木", "独孤", "歐陽", "諸葛",
    }
)  # fmt: skip

# Text in brackets is a note about the person, not their name: "王磊(采购)", "John (CFO)".
_BRACKETED = re.compile(r"\([^)]*\)|\[[^\]]*\]|【[^】]*】|〔[^〕]*〕")
# O'Brien and O’Brien are one name, not "o" and "brien".
_APOSTROPHES = str.maketrans("", "", "'’‘`")


def _is_surname(han: str) -> bool:
    return len(han) == 1 or han in _COMPOUND_SURNAMES


def _strip_chinese_title(han: str) -> str:
    for title in _CHINESE_TITLES:
        if han.endswith(title) and len(han) > len(title):
            return han.removesuffix(title)
    if han[-1] in _SURNAME_TITLES and len(han) > 1 and _is_surname(han[:-1]):
        return han[:-1]
    if len(han) == 2 and han[0] in _SURNAME_PREFIXES:
        return han[1:]
    return han


def _join_han_neighbours(tokens: list[str]) -> list[str]:
    """Merge neighbouring Han tokens: spaces inside a Chinese name ("王 磊") are habit."""
    joined: list[str] = []
    for token in tokens:
        if joined and _is_han_token(token) and _is_han_token(joined[-1]):
            joined[-1] += token
        else:
            joined.append(token)
    return joined


def normalize_person(name: str) -> str:
    """Comparable form of a person's name.

    NFKC, casefold, bracketed notes and punctuation dropped, words separated by single spaces
    (none inside Chinese: "王 磊" == "王磊"), and honorifics stripped: "Mr", "Dr" … in front,
    "先生", "女士", "经理" … behind. "王总" is how reps write boss Wang whose given name they don't
    use, so it becomes the surname "王"; likewise "陈董", "刘工", "老王". A name that is nothing
    but an honorific is kept.
    """
    folded = _BRACKETED.sub(" ", _fold(name).translate(_APOSTROPHES))
    tokens = _join_han_neighbours(_tokens(folded))
    unstripped = " ".join(tokens)
    while len(tokens) > 1 and tokens[0] in _LATIN_HONORIFICS:
        tokens.pop(0)
    if tokens and _is_han_token(tokens[-1]):
        if len(tokens) > 1 and tokens[-1] in _CHINESE_TITLES:  # "Wang Lei 先生"
            tokens.pop()
        else:
            tokens[-1] = _strip_chinese_title(tokens[-1])
    return " ".join(tokens) or unstripped


# ---------------------------------------------------------------------------------------------
# Scoring two normalised strings
# ---------------------------------------------------------------------------------------------

EXACT_SCORE = 100.0
PREFIX_SCORE = 95.0  # + up to PREFIX_COVERAGE_BONUS
PREFIX_COVERAGE_BONUS = 4.0
SUBSTRING_SCORE = 90.0  # + up to SUBSTRING_COVERAGE_BONUS
SUBSTRING_COVERAGE_BONUS = 5.0
# The record inside the query ("Acme" found by "Acme Trading"): the rep typed more than was
# stored, which is plausible but less sure than the other way round. 80..90.
WITHIN_QUERY_SCORE = 80.0
WITHIN_QUERY_COVERAGE_BONUS = 10.0
# WRatio's weight for partial matches: a near-substring is worth less than a near-whole match.
# It also makes any substring worth at least 90, so the substring tier starts there.
PARTIAL_WEIGHT = 0.9
MAX_FUZZY_SCORE = 99.0

# A query must carry this many points before matching inside longer strings: one Han character
# is worth about 1.5 Latin letters (a Chinese word averages under two characters, an English one
# about five), so 2 Han characters or 3 letters pass, while "王" or "ac" would match thousands.
HAN_CHARACTER_POINTS = 1.5
OTHER_CHARACTER_POINTS = 1.0
MIN_PARTIAL_QUERY_POINTS = 3.0


def _query_points(text: str) -> float:
    return sum(
        HAN_CHARACTER_POINTS if _is_han_token(ch) else OTHER_CHARACTER_POINTS
        for ch in text
        if not ch.isspace()
    )


def _long_enough_for_partial(query: str) -> bool:
    return _query_points(query) >= MIN_PARTIAL_QUERY_POINTS


def _containment_score(query: str, field: str) -> float | None:
    """Score when one string contains the other and the contained one is long enough."""
    if _long_enough_for_partial(query) and query in field:
        coverage = len(query) / len(field)
        if field.startswith(query):
            return PREFIX_SCORE + PREFIX_COVERAGE_BONUS * coverage
        return SUBSTRING_SCORE + SUBSTRING_COVERAGE_BONUS * coverage
    if _long_enough_for_partial(field) and field in query:
        return WITHIN_QUERY_SCORE + WITHIN_QUERY_COVERAGE_BONUS * len(field) / len(query)
    return None


def _fuzzy_score(query: str, field: str, *, word_order_free: bool, partial: bool) -> float:
    score = fuzz.ratio(query, field)
    if word_order_free:
        score = max(score, fuzz.token_sort_ratio(query, field))
    if partial and len(field) > len(query):
        score = max(score, PARTIAL_WEIGHT * fuzz.partial_ratio(query, field))
    return min(score, MAX_FUZZY_SCORE)


def _field_score(query: str, field: str, *, word_order_free: bool) -> float:
    """How well a normalised query matches one normalised name or company (0..100)."""
    if not query or not field:
        return 0.0
    if query == field:
        return EXACT_SCORE
    contained = _containment_score(query, field)
    if contained is not None:
        return contained
    return _fuzzy_score(
        query, field, word_order_free=word_order_free, partial=_long_enough_for_partial(query)
    )


# ---------------------------------------------------------------------------------------------
# Queries
# ---------------------------------------------------------------------------------------------


def _looks_like_email(text: str) -> bool:
    return "@" in text or "＠" in text


def _looks_like_phone(text: str) -> bool:
    # normalize_phone refuses letters itself; this only spares it queries with no digits at all.
    return any(ch.isdigit() for ch in text)


def classify_query(query: str, default_region: str) -> tuple[QueryKind, str]:
    """("phone", E.164), ("email", normalised address) or ("text", the query stripped).

    A query that looks like an email or a phone number but isn't a valid one ("wang@acme",
    "8000") is searched as text rather than refused: the command is a search box, not a form.
    """
    text = clean_text(query)
    if _looks_like_email(text):
        try:
            return "email", normalize_email(text)
        except FieldError:
            return "text", text
    if _looks_like_phone(text):
        try:
            return "phone", normalize_phone(text, default_region)
        except FieldError:
            return "text", text
    return "text", text


# ---------------------------------------------------------------------------------------------
# Ranking
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    id: int
    name: str
    company: str
    phone_e164: str | None
    email: str | None


@dataclass(frozen=True)
class Match:
    candidate: Candidate
    score: float  # 0..100
    reason: str  # "phone" | "email" | "name" | "company" | "name+company"


class _Memo(dict[str, str]):
    """A bounded cache of normalised names or companies, read with plain dict lookups.

    Normalisation is the expensive Python part of ranking 100,000 candidates, and the same names
    and companies come back from the database query after query. When full it simply starts
    over: one slower query, no bookkeeping on every hit (as lru_cache would do).
    """

    def __init__(self, normalise: Callable[[str], str], max_size: int) -> None:
        super().__init__()
        self._normalise = normalise
        self._max_size = max_size

    def __missing__(self, raw: str) -> str:
        if len(self) >= self._max_size:
            self.clear()
        value = self[raw] = self._normalise(raw)
        return value


_NORMALISATION_CACHE_SIZE = 1 << 17  # a full 100,000-candidate prefilter, and some
_person_keys = _Memo(normalize_person, _NORMALISATION_CACHE_SIZE)
_company_keys = _Memo(normalize_company, _NORMALISATION_CACHE_SIZE)

# "Wang Lei Acme" is read as name + company at every split point, both ways round; queries with
# more words than this are sentences, not names.
MAX_SPLIT_QUERY_WORDS = 6
# Between a name and a company reps type a space, a comma (either width), 、 or a slash.
_WORD_SEPARATORS = re.compile(r"[\s,，、;；/|]+")
SCORE_DECIMALS = 1


@dataclass(frozen=True)
class _Reading:
    """One way to read a text query: as a name, as a company, or as a name and a company."""

    reason: Reason
    person: str | None
    company: str | None


def _readings(text: str) -> list[_Reading]:
    readings = [
        _Reading("name", normalize_person(text), None),
        _Reading("company", None, normalize_company(text)),
    ]
    words = [word for word in _WORD_SEPARATORS.split(text) if word]
    if not 2 <= len(words) <= MAX_SPLIT_QUERY_WORDS:
        return readings
    for split in range(1, len(words)):
        first, rest = " ".join(words[:split]), " ".join(words[split:])
        for person, company in ((first, rest), (rest, first)):
            pair = _Reading("name+company", normalize_person(person), normalize_company(company))
            if pair.person and pair.company:  # a half of only punctuation is no half
                readings.append(pair)
    return readings


class _Column:
    """One field (names or companies) of all candidates, scored once per distinct value.

    Many candidates share a company (and common names repeat), so the Python work — normalising
    and the exact score — is done per distinct string, and rapidfuzz scans the distinct
    normalised strings in C. Only the final pass looks at every candidate.
    """

    def __init__(
        self, raw_values: Iterable[str], memo: _Memo, *, word_order_free: bool, min_score: float
    ) -> None:
        self.word_order_free = word_order_free
        self.min_score = min_score
        self._key_of_raw = {raw: memo[raw] for raw in dict.fromkeys(raw_values)}
        self._distinct_keys = list(dict.fromkeys(self._key_of_raw.values()))
        self._scored: dict[str, dict[str, float]] = {}

    def key(self, raw: str) -> str:
        return self._key_of_raw[raw]

    def keys_of(self, raws: Iterable[str]) -> set[str]:
        return {self._key_of_raw[raw] for raw in raws}

    def score_all(self, query: str) -> None:
        """Score the query against every value (once)."""
        if query not in self._scored:
            self._scored[query] = self._score(query, self._distinct_keys)

    def score_among(self, query: str, keys: Iterable[str]) -> None:
        """Score the query against these values only, unless it was scored against all."""
        if query not in self._scored:
            self._scored[query] = self._score(query, list(keys))

    def scores(self, query: str) -> dict[str, float]:
        """Normalised value → score, for the values scoring at least min_score."""
        return self._scored.get(query, {})

    def raw_hits(self) -> set[str]:
        """The raw values that scored in any query so far."""
        hit_keys = {key for scores in self._scored.values() for key in scores}
        return {raw for raw, key in self._key_of_raw.items() if key in hit_keys}

    def _score(self, query: str, choices: Sequence[str]) -> dict[str, float]:
        if not query or not choices:
            return {}
        scores: dict[str, float] = {}
        for key in self._prefilter(query, choices):
            score = _field_score(query, key, word_order_free=self.word_order_free)
            if score >= self.min_score:
                scores[key] = score
        return scores

    def _prefilter(self, query: str, choices: Sequence[str]) -> set[str]:
        """Values that might reach min_score, found by rapidfuzz in C.

        Every branch of _field_score is bounded by one of these scorers: equality by ratio,
        containment either way by partial_ratio (100, and a contained string long enough to
        count makes the longer query long enough too), the fuzzy score by the largest of them.
        """
        scorers: list[tuple[Callable[..., float], float]] = [(fuzz.ratio, self.min_score)]
        if self.word_order_free:
            scorers.append((fuzz.token_sort_ratio, self.min_score))
        if _long_enough_for_partial(query):
            scorers.append((fuzz.partial_ratio, min(100.0, self.min_score / PARTIAL_WEIGHT)))
        found: set[str] = set()
        for scorer, cutoff in scorers:
            results = process.extract(
                query, choices, scorer=scorer, processor=None, score_cutoff=cutoff, limit=None
            )
            found.update(key for key, _, _ in results)
        return found


def _reading_score(
    reading: _Reading, name: str, company: str, names: _Column, companies: _Column
) -> float | None:
    """The score of one candidate (by its normalised name and company) under one reading."""
    by_name = names.scores(reading.person).get(name) if reading.person else None
    by_company = companies.scores(reading.company).get(company) if reading.company else None
    if reading.person and reading.company:
        # Both halves must match; the weaker one says how well the pair does.
        return None if by_name is None or by_company is None else min(by_name, by_company)
    return by_name if by_name is not None else by_company


def _best_reading(
    readings: Sequence[_Reading], name: str, company: str, names: _Column, companies: _Column
) -> tuple[float, Reason] | None:
    best: tuple[float, Reason] | None = None
    for reading in readings:
        score = _reading_score(reading, name, company, names, companies)
        if score is not None and (best is None or score > best[0]):
            best = (score, reading.reason)
    return best


_NAME = attrgetter("name")
_COMPANY = attrgetter("company")


def _score_readings(
    readings: Sequence[_Reading],
    raw_names: Sequence[str],
    raw_companies: Sequence[str],
    names: _Column,
    companies: _Column,
) -> None:
    """All the fuzzy matching, over distinct values."""
    for reading in readings:
        if reading.person:
            names.score_all(reading.person)
        elif reading.company:
            companies.score_all(reading.company)
    # The company half of "name company" only matters where the name half matched: score it
    # against those candidates' companies, not all 100,000 (a split query has up to ten halves).
    halves = {r.company for r in readings if r.person and r.company}
    if halves:
        name_hits = names.raw_hits()
        paired = companies.keys_of(
            company
            for name, company in zip(raw_names, raw_companies, strict=True)
            if name in name_hits
        )
        for half in halves:
            companies.score_among(half, paired)


def _rank_text(text: str, pool: Sequence[Candidate], min_score: float) -> list[Match]:
    raw_names, raw_companies = list(map(_NAME, pool)), list(map(_COMPANY, pool))
    names = _Column(raw_names, _person_keys, word_order_free=True, min_score=min_score)
    companies = _Column(raw_companies, _company_keys, word_order_free=False, min_score=min_score)
    readings = _readings(text)
    _score_readings(readings, raw_names, raw_companies, names, companies)
    name_hits, company_hits = names.raw_hits(), companies.raw_hits()
    if not name_hits and not company_hits:
        return []
    # The one pass over every candidate: set lookups only.
    hit_rows = [
        row
        for row, (name, company) in enumerate(zip(raw_names, raw_companies, strict=True))
        if name in name_hits or company in company_hits
    ]
    matches: list[Match] = []
    for row in hit_rows:
        name, company = names.key(raw_names[row]), companies.key(raw_companies[row])
        best = _best_reading(readings, name, company, names, companies)
        if best is not None:
            matches.append(Match(pool[row], round(best[0], SCORE_DECIMALS), best[1]))
    return matches


def _exact_contact_matches(kind: QueryKind, value: str, pool: Iterable[Candidate]) -> list[Match]:
    if kind == "phone":
        return [Match(c, EXACT_SCORE, "phone") for c in pool if c.phone_e164 == value]
    # Stored addresses are already lower-case (normalize_email); lower() again costs nothing and
    # keeps a row written by an older import findable.
    return [
        Match(c, EXACT_SCORE, "email")
        for c in pool
        if c.email is not None and c.email.strip().lower() == value
    ]


def _ranking_key(match: Match) -> tuple[float, str, int]:
    return (-match.score, match.candidate.name.casefold(), match.candidate.id)


def rank_customers(
    query: str,
    candidates: Iterable[Candidate],
    *,
    default_region: str,
    limit: int = 10,
    min_score: float = 70.0,
) -> list[Match]:
    """The best matches for what a rep typed, best first, at most limit.

    Phone and email queries match exactly (score 100) and nothing else. Text is matched against
    every candidate's normalised name and company (see the module docstring for the scores),
    and also as "name company" or "company name" when it has several words. Ties are broken by
    name, then id, so results are stable.
    """
    if limit <= 0:
        return []
    kind, value = classify_query(query, default_region)
    pool = list(candidates)
    if kind == "text":
        matches = _rank_text(value, pool, min_score) if value else []
    else:
        matches = _exact_contact_matches(kind, value, pool)
    return heapq.nsmallest(limit, matches, key=_ranking_key)


# ---------------------------------------------------------------------------------------------
# Duplicate detection
# ---------------------------------------------------------------------------------------------

# Companies must match at least this well before the names are even considered.
SAME_COMPANY_THRESHOLD = 90.0
# Whatever the names, two different companies are at most this alike.
DIFFERENT_COMPANY_CAP = 50.0
# "王总" and "王磊", "Mr. Smith" and "John Smith" at the same company: probably the same person,
# but a colleague of the same surname is possible, so worth asking, not merging.
SURNAME_ONLY_SCORE = 80.0


def _symmetric_score(a: str, b: str, *, word_order_free: bool) -> float:
    """_field_score with the shorter string as the query, so containment works both ways."""
    short, long = sorted((a, b), key=len)
    return _field_score(short, long, word_order_free=word_order_free)


def _is_surname_of(short: str, full: str) -> bool:
    """'王' and '王磊'; 'smith' and 'john smith' (or 'wang' and 'wang lei')."""
    if _is_han_token(short) and _is_han_token(full):
        return _is_surname(short) and full.startswith(short) and len(full) > len(short)
    words = full.split()
    return " " not in short and len(words) > 1 and short in (words[0], words[-1])


def _word_by_word_similarity(a_words: list[str], b_words: list[str]) -> float:
    """Each word of the shorter name against its best partner in the other; the worst pair counts.

    Whole-string ratio scores "John Smith" against "Jane Smith" 80 — the shared surname carries
    it — but they are two people. Compared word by word, "john"/"jane" (50) decides, while a typo
    ("Jon Smith") stays high and word order ("Lei Wang") doesn't matter.
    """
    shorter, longer = sorted((a_words, b_words), key=len)
    return min(max(fuzz.ratio(word, other) for other in longer) for word in shorter)


def _person_similarity(a: str, b: str) -> float:
    if not a or not b:
        return 0.0
    if a == b:
        return EXACT_SCORE
    short, full = sorted((a, b), key=len)
    if _is_surname_of(short, full):
        return SURNAME_ONLY_SCORE
    a_words, b_words = a.split(), b.split()
    if len(a_words) > 1 and len(b_words) > 1:
        return min(_word_by_word_similarity(a_words, b_words), MAX_FUZZY_SCORE)
    # One word each (Chinese names, or "johnsmith"): the whole strings. No containment bonus:
    # "王" inside "王磊" is the surname rule's business, and "王磊" vs "王磊明" are two people.
    return min(fuzz.ratio(a, b), MAX_FUZZY_SCORE)


def likely_same_customer(a_name: str, a_company: str, b_name: str, b_company: str) -> float:
    """0..100: how likely two (person, company) pairs are one customer, for duplicate warnings.

    High only when both the companies match (equal after normalize_company, or fuzzily at least
    SAME_COMPANY_THRESHOLD, e.g. "某某科技" inside "上海某某科技") and the people are alike: two
    people at one company are two customers. Roughly: ≥ 90 the same; 75–90 ask the rep
    (surname only, "王总" vs "王磊"); below that, different.
    """
    company = _symmetric_score(
        _company_keys[a_company], _company_keys[b_company], word_order_free=False
    )
    person = _person_similarity(_person_keys[a_name], _person_keys[b_name])
    if company < SAME_COMPANY_THRESHOLD:
        return round(min(company, person, DIFFERENT_COMPANY_CAP), SCORE_DECIMALS)
    return round(min(company, person), SCORE_DECIMALS)


def close_company_keys(candidates: Iterable[str], key: str) -> list[str]:
    """Of these normalised company keys, in order, those close enough to `key` for
    likely_same_customer to call the companies one (the same company, or one inside the other).

    The exact (slower) comparison, for the few keys a fast pre-filter let through
    (bot/company_keys.py).
    """
    return sorted(
        candidate
        for candidate in candidates
        if _symmetric_score(candidate, key, word_order_free=False) >= SAME_COMPANY_THRESHOLD
    )
