"""Server-side rules for the follow-up form's fields.

Pure functions only: no Slack, no database, no network. Every problem a rep can fix is raised as
:class:`FieldError`, whose message is shown under the offending field, so messages are plain words
that say what to type instead. Messages are deferred (`Text`): the form renders them in the
language of whoever submitted it, and str() gives English for logs and reports.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Literal

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from bot.i18n import Message, Territory, Text, _, _n

NoteKind = Literal["summary", "feedback", "next_action"]

# Field lengths, for the form (bot.followups) and the import alike.
NAME_MAX = 100
COMPANY_MAX = 200
NOTE_MAX = 3000
NEXT_ACTION_MAX = 500


class FieldError(ValueError):
    """A user-facing problem with one field.

    `message` is shown under the field, in the reader's language; str(err) is its English text.
    """

    def __init__(self, message: Message) -> None:
        super().__init__(message)
        self.message: Message = message

    def __str__(self) -> str:
        return str(self.message)


# ---------------------------------------------------------------------------------------------
# Plain text
# ---------------------------------------------------------------------------------------------

# Python's \s already covers the full-width space U+3000 and no-break spaces, but not the
# zero-width characters that Chinese IMEs and copy-paste from web pages leave at the edges.
_ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"
_EDGE_SPACE = re.compile(rf"^[\s{_ZERO_WIDTH}]+|[\s{_ZERO_WIDTH}]+$")


def clean_text(raw: str | None) -> str:
    """Strip surrounding whitespace, incl. full-width space U+3000 and zero-width characters.

    Inner text is kept exactly as typed. None -> ''.
    """
    if raw is None:
        return ""
    return _EDGE_SPACE.sub("", raw)


def require_text(raw: str | None, *, missing: Text, max_length: int) -> str:
    """clean_text, then FieldError(`missing`) if empty, or FieldError if longer than max_length.

    `missing` is the whole sentence for that field ("Please fill in the company."): a label glued
    into a shared sentence would not translate.
    """
    text = clean_text(raw)
    if not text:
        raise FieldError(missing)
    return limit_length(text, max_length)


# Control characters other than tab and newline: PostgreSQL refuses NUL outright, and none of
# them is something a person meant to type into a note.
_UNSTORABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def require_storable(text: str) -> str:
    """FieldError for text no database can keep as typed: control characters, or half of a
    UTF-16 surrogate pair (a broken emoji from a bad copy-paste)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise FieldError(
            _("This has a broken character in it (often a half-copied emoji) — retype that part.")
        ) from None
    if _UNSTORABLE.search(text):
        raise FieldError(
            _(
                "This has an invisible control character in it — retype it, or paste it as "
                "plain text."
            )
        )
    return text


def limit_length(text: str, max_length: int) -> str:
    """FieldError if `text` is longer than max_length characters (not bytes), or can't be
    stored as typed (see require_storable)."""
    require_storable(text)
    if len(text) > max_length:
        raise FieldError(
            _("Too long — keep it under {max_length} characters.", max_length=max_length)
        )
    return text


def shorten(value: str, limit: int = 40) -> str:
    """What the rep typed, cut short to echo inside a message so a pasted paragraph can't flood
    it. The message itself quotes it, in its own language's quotation marks."""
    return value if len(value) <= limit else value[: limit - 1] + "…"


# ---------------------------------------------------------------------------------------------
# Phone numbers
# ---------------------------------------------------------------------------------------------

# Shown in hints. Familiar numbers for the team's home regions; other regions fall back to the
# example number phonenumbers ships, and unknown regions to the Chinese one.
_FAMILIAR_EXAMPLE_NUMBERS = {"CN": "+86 138 0013 8000", "US": "+1 212 555 0100"}
_FALLBACK_EXAMPLE_NUMBER = _FAMILIAR_EXAMPLE_NUMBERS["CN"]


def _example_number(region: str | None) -> str:
    if region in _FAMILIAR_EXAMPLE_NUMBERS:
        return _FAMILIAR_EXAMPLE_NUMBERS[region]
    if region:
        example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
        if example is not None:
            return phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return _FALLBACK_EXAMPLE_NUMBER


def _has_letters(text: str) -> bool:
    # Vanity numbers ("1-800-FLOWERS") and extensions ("ext. 12") would be silently rewritten or
    # dropped by phonenumbers; a contact field should hold exactly the digits the rep meant.
    return any(unicodedata.category(ch).startswith("L") for ch in text)


def _dialled_country_code(text: str) -> bool:
    return text.startswith("+") or text.startswith("00")


def _international_zero_zero_as_plus(text: str, region: str) -> str:
    """Read a leading 00 as '+' where the region's own international prefix is something else.

    Most of the world dials 00 before a country code, so reps write "0086 …" even when the
    default region is the US (which dials 011). Regions whose own prefix starts with 00 (CN, AU's
    0011) are left to phonenumbers, which already understands them.
    """
    if not text.startswith("00"):
        return text
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    own_prefix = metadata.international_prefix if metadata is not None else None
    digits = re.sub(r"\D", "", text)
    if own_prefix and re.match(f"(?:{own_prefix})", digits):
        return text
    return "+" + text[2:]


def _parse_phone(text: str, region: str) -> phonenumbers.PhoneNumber:
    try:
        return phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as error:
        kind = error.error_type
        message: Text
        if kind == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE:
            message = (
                _unknown_country_code_message(text)
                if text.startswith("+")
                else _(
                    "'{value}' needs a country code, e.g. {example}",
                    value=shorten(text),
                    example=_FALLBACK_EXAMPLE_NUMBER,
                )
            )
        elif kind == phonenumbers.NumberParseException.NOT_A_NUMBER:
            message = _not_a_number_message(text, region)
        elif kind == phonenumbers.NumberParseException.TOO_LONG:
            message = _too_long_message(text, region)
        else:  # TOO_SHORT_AFTER_IDD, TOO_SHORT_NSN
            message = _too_short_message(text, region)
        raise FieldError(message) from error


def _unknown_country_code_message(text: str) -> Text:
    return _(
        "'{value}' starts with an unknown country code — check the digits after the +, "
        "e.g. {example}",
        value=shorten(text),
        example=_FALLBACK_EXAMPLE_NUMBER,
    )


def _not_a_number_message(text: str, region: str) -> Text:
    return _(
        "'{value}' isn't a phone number — type the digits, e.g. {example}",
        value=shorten(text),
        example=_example_number(region),
    )


def _too_short_message(text: str, region: str) -> Text:
    return _(
        "'{value}' has too few digits for a phone number in {region} — write the full number, "
        "e.g. {example}",
        value=shorten(text),
        region=Territory(region),
        example=_example_number(region),
    )


def _too_long_message(text: str, region: str) -> Text:
    return _(
        "'{value}' has too many digits for a phone number in {region} — check for an extra "
        "digit, and enter one number only",
        value=shorten(text),
        region=Territory(region),
    )


def _check_phone_length(number: phonenumbers.PhoneNumber, text: str, region: str) -> None:
    reason = phonenumbers.is_possible_number_with_reason(number)
    result = phonenumbers.ValidationResult
    if reason == result.IS_POSSIBLE:
        return
    if reason == result.INVALID_COUNTRY_CODE:
        raise FieldError(_unknown_country_code_message(text))
    if reason == result.TOO_LONG:
        raise FieldError(_too_long_message(text, region))
    if reason in (result.TOO_SHORT, result.IS_POSSIBLE_LOCAL_ONLY):
        # A local-only number lacks its area code: a colleague elsewhere could not dial it.
        raise FieldError(_too_short_message(text, region))
    raise FieldError(
        _(
            "'{value}' has the wrong number of digits for a phone number in {region} — check "
            "the digits, e.g. {example}",
            value=shorten(text),
            region=Territory(region),
            example=_example_number(region),
        )
    )


def normalize_phone(raw: str, default_region: str) -> str:
    """Parse with phonenumbers (region used when no +country code) and return E.164.

    Accepts spaces, dashes, dots, parentheses, full-width characters and a leading 00 or +.
    Raises FieldError saying whether the input is not a number, has the wrong length for its
    country, or is not a valid (assigned) number there.
    """
    region = default_region.strip().upper()
    # NFKC turns full-width digits, '＋' and the ideographic space into their ASCII forms.
    text = unicodedata.normalize("NFKC", clean_text(raw))
    if not any(ch.isdigit() for ch in text):
        raise FieldError(_not_a_number_message(text, region) if text else _empty_phone_message())
    if _has_letters(text):
        raise FieldError(
            _(
                "'{value}' has letters in it — type the digits only, e.g. {example}",
                value=shorten(text),
                example=_example_number(region),
            )
        )
    text = _international_zero_zero_as_plus(text, region)
    number = _parse_phone(text, region)
    # Name the country the number belongs to, which differs from the default after a +code.
    number_region = phonenumbers.region_code_for_country_code(number.country_code or 0)
    _check_phone_length(number, text, number_region)
    if not phonenumbers.is_valid_number(number):
        raise FieldError(_invalid_number_message(text, number_region))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _invalid_number_message(text: str, region: str) -> Text:
    params = {
        "value": shorten(text),
        "region": Territory(region),
        "example": _example_number(region),
    }
    if _dialled_country_code(text):
        return _(
            "'{value}' isn't a valid phone number for {region} — check the digits, e.g. {example}",
            **params,
        )
    return _(
        "'{value}' isn't a valid phone number for {region} — include the country code, "
        "e.g. {example}",
        **params,
    )


def _empty_phone_message() -> Text:
    return _("Please enter a phone number, e.g. {example}", example=_FALLBACK_EXAMPLE_NUMBER)


# ---------------------------------------------------------------------------------------------
# Email addresses
# ---------------------------------------------------------------------------------------------

_EXAMPLE_EMAIL = "jane@acme.com"

# Chinese IMEs in full-width mode type '＠' and '．', and '。' for a full stop. The library
# rejects those; nobody means them inside an address, so fold them to ASCII first.
_FULL_WIDTH_TO_ASCII = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {
    0x3000: " ",
    0x3002: ".",
}


def _structural_email_problem(text: str) -> Text | None:
    """Plain messages for the mistakes people actually make, before the library's own wording."""
    value, example = shorten(text), _EXAMPLE_EMAIL
    if "@" not in text:
        return _("'{value}' is missing the @ sign, e.g. {example}", value=value, example=example)
    if len([part for part in re.split(r"[\s,;]+", text) if "@" in part]) > 1:
        return _("'{value}' looks like several addresses — enter one address only", value=value)
    if any(ch.isspace() for ch in text):
        return _("'{value}' has a space in it — email addresses can't contain spaces", value=value)
    local, _at, domain = text.rpartition("@")
    if not local:
        return _(
            "'{value}' is missing the name before the @, e.g. {example}",
            value=value,
            example=example,
        )
    if not domain:
        return _(
            "'{value}' is missing the part after the @, e.g. {example}",
            value=value,
            example=example,
        )
    if "." not in domain:
        return _("'{value}' is missing a domain ending like .com", value=value)
    return None


# What a local part may hold besides letters and digits (RFC 5322 atext, and its dots).
_LOCAL_PUNCTUATION = frozenset("!#$%&'*+-/=?^_`{|}~.")


def _rejected_email_message(text: str) -> Text:
    """Why the library refused an address that passed `_structural_email_problem`, for the
    cases we can name; otherwise a plain "isn't valid"."""
    value, example = shorten(text), _EXAMPLE_EMAIL
    local, _at, domain = text.rpartition("@")
    if "@" in local:
        return _("'{value}' isn't a valid email address. It has more than one @.", value=value)
    if ".." in text:
        return _(
            "'{value}' isn't a valid email address. It has two periods in a row — remove one.",
            value=value,
        )
    if local.startswith(".") or local.endswith("."):
        return _(
            "'{value}' isn't a valid email address. The name before the @ can't start or end "
            "with a period.",
            value=value,
        )
    if domain.startswith(".") or domain.endswith("."):
        return _(
            "'{value}' isn't a valid email address. The part after the @ can't start or end "
            "with a period.",
            value=value,
        )
    invalid = [ch for ch in local if not ch.isalnum() and ch not in _LOCAL_PUNCTUATION]
    invalid += [ch for ch in domain if not ch.isalnum() and ch not in "-."]
    if invalid:
        shown = list(dict.fromkeys(invalid))
        return _n(
            "'{value}' isn't a valid email address. This character can't be in an address: "
            "{characters}",
            "'{value}' isn't a valid email address. These characters can't be in an address: "
            "{characters}",
            len(shown),
            value=value,
            characters=" ".join(shown),
        )
    return _(
        "'{value}' isn't a valid email address. Check it, e.g. {example}",
        value=value,
        example=example,
    )


def normalize_email(raw: str) -> str:
    """Validate without DNS (the bot must work offline) and return the library's normalised form.

    The whole address is lower-cased. RFC 5321 lets a local part be case-sensitive, but no mail
    provider a sales team writes to treats it so, while reps type "Wang.Lei@" and "wang.lei@" for
    the same person: matching customers by email needs one spelling.
    """
    text = clean_text(raw).translate(_FULL_WIDTH_TO_ASCII)
    if not text:
        raise FieldError(_("Please enter an email address, e.g. {example}", example=_EXAMPLE_EMAIL))
    problem = _structural_email_problem(text)
    if problem is not None:
        raise FieldError(problem)
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError as error:
        # The library's reason is English only: say it in our own (translated) words.
        raise FieldError(_rejected_email_message(text)) from error
    return str(result.normalized).lower()


# ---------------------------------------------------------------------------------------------
# Vague notes
# ---------------------------------------------------------------------------------------------
#
# A note is vague when, once the phrases that only say "a contact happened" or "it went fine"
# are taken out, too little is left for a colleague to act on. Phrases are written as people
# type them; they go through the same normalisation as the note. Latin phrases match whole words
# only ("ok" must not eat the middle of "book"); Chinese has no word boundaries, so Chinese
# phrases match anywhere and are therefore at least two characters long, except for particles
# and pronouns that are never content on their own (了, 的, 他).

# A touchpoint happened, but nothing about what was said. The follow-up record already says a
# contact took place, so "called" or "电话沟通" adds nothing.
CONTACT_MADE_PHRASES: tuple[str, ...] = (
    "call", "called", "calls", "calling", "phone", "phoned", "phone call", "rang", "had a call",
    "talk", "talked", "talked to", "spoke", "spoke to", "spoke with", "speak", "discuss",
    "discussed", "discussion", "chat", "chatted", "met", "meet", "meeting", "had a meeting",
    "contact", "contacted", "reached", "reached out", "touched base", "checked in", "caught up",
    "connected", "conversation", "ping", "pinged", "email", "emailed", "emails", "e-mail",
    "mail", "sent email", "sent an email", "sent mail", "message", "messaged", "texted",
    "wechat", "whatsapp", "left message", "left a message", "voicemail", "left voicemail", "vm",
    "visit", "visited",
    "follow", "follow up", "followed up", "following up", "followup", "f/u", "fu",
    "电话沟通", "电话联系", "打电话", "打了电话", "通电话", "通了电话", "电话", "通话",
    "致电", "来电", "回电", "沟通", "沟通过", "沟通了", "已沟通", "沟通中", "交流", "交流过",
    "聊了", "聊过", "聊天", "谈了", "谈过", "在谈", "正在谈", "洽谈", "讨论", "讨论了", "商量",
    "商谈", "面谈", "约谈", "联系", "联系过", "联系了", "已联系", "联络", "拜访", "见面",
    "开会", "会议", "发了邮件", "发邮件", "邮件", "电邮", "发了微信", "微信", "短信", "留言",
    "回访", "跟进", "跟进中", "继续跟进", "跟踪", "追踪", "回复", "了解", "了解情况", "情况",
    "反馈",
)  # fmt: skip

# The customer's mood without its reason. "Interested" is what every rep writes; the useful part
# is in what, at which price, for whom.
MOOD_PHRASES: tuple[str, ...] = (
    "interest", "interested", "interesting", "very interested", "showed interest",
    "seems interested", "keen", "positive", "good", "great", "nice", "fine", "ok", "okay",
    "went well", "well", "happy", "liked it", "likes it", "looks good", "promising",
    "potential",
    "有兴趣", "感兴趣", "很感兴趣", "比较感兴趣", "兴趣", "有意向", "意向", "意向强", "有需求",
    "不错", "挺好", "很好", "还好", "良好", "好的", "满意", "积极", "还行", "可以", "还可以",
    "一般",
)  # fmt: skip

# Waiting, undecided or unreachable, with no reason or date. These describe the absence of news.
PENDING_PHRASES: tuple[str, ...] = (
    "think", "thinking", "thinking about it", "think about it", "consider", "considering",
    "pending", "wait", "waiting", "awaiting", "waiting for reply", "no reply", "no response",
    "no answer", "not answered", "unanswered", "did not answer", "didn't answer",
    "not reached", "unreachable", "could not reach", "couldn't reach", "busy", "tbd", "tbc",
    "to be decided", "to be confirmed", "maybe", "not sure", "unknown", "no update",
    "no updates", "no news", "no change", "no progress", "in progress",
    "ongoing", "yet", "later", "soon", "asap", "next week", "this week", "tomorrow", "next time",
    "sometime",
    "考虑中", "在考虑", "考虑一下", "再考虑", "考虑", "待定", "待确认", "待跟进", "等待",
    "等回复", "等消息", "未回复", "没回复", "没有回复", "没接", "未接", "未接通", "没接通",
    "无人接听", "没人接", "在忙", "很忙", "再说", "以后再说", "再看", "看看", "再看看",
    "没有进展", "无进展", "暂无进展", "无变化", "没变化", "不确定", "还没定", "下周", "明天",
    "稍后", "尽快", "过几天", "改天", "近期", "后续", "目前", "暂时", "正在", "还在",
)  # fmt: skip

# Pointers to some other note. Notes are read one at a time (in reminders, in search results),
# so "see above" points at nothing.
REFERENCE_PHRASES: tuple[str, ...] = (
    "same", "same as before", "same as above", "same as last time", "see above", "as above",
    "as before", "see previous", "see previous note", "see last note", "ditto", "idem",
    "as discussed",
    "同上", "同前", "见上", "如上", "同上次", "和上次一样", "跟上次一样", "一样", "参考上次",
    "见上次",
)  # fmt: skip

# Next steps that any follow-up could have: they name no deliverable, person or topic.
BOILERPLATE_NEXT_STEP_PHRASES: tuple[str, ...] = (
    "will follow up", "keep following up", "keep in touch", "stay in touch", "keep contact",
    "call back", "call again", "check back", "email again", "remind", "reminder", "continue",
    "next step", "next steps", "todo", "to do", "again", "still",
    "继续跟进", "持续跟进", "保持联系", "再联系", "再跟进", "再打电话", "再问问", "再约",
    "下次再聊", "继续沟通", "继续", "持续", "保持",
)  # fmt: skip

# Words that carry no content on their own, and nouns so generic they name nothing ("sent info").
# Removing them keeps the score about substance: "I talked to the customer" should count as
# empty as "talked". Negations ("not", "no", "不") are deliberately absent: "no budget" is
# feedback.
FUNCTION_WORDS: tuple[str, ...] = (
    "a", "an", "the", "to", "of", "and", "or", "with", "at", "on", "in", "for", "from", "by",
    "about", "up", "is", "are", "was", "were", "be", "been", "has", "have", "had", "will",
    "would", "shall", "can", "could", "do", "did", "does", "done", "get", "got", "he", "she",
    "they", "we", "i", "it", "them", "him", "her", "us", "our", "their", "his", "me", "my",
    "you", "your", "this", "that", "these", "those", "also", "just", "very", "really", "some",
    "so", "then", "there", "here", "customer", "customers", "client", "clients", "prospect",
    "lead", "info", "information", "details", "materials", "stuff", "things",
    "客户", "对方", "他们", "她们", "我们", "他", "她", "我", "了", "的", "已经", "一下", "表示",
    "资料", "信息", "东西",
)  # fmt: skip

# Stand-ins for "nothing to report". Bare "无", "没有", "暂无", "no" and "none" are deliberately
# not listed: as substrings they would eat meaning ("暂无预算" is "no budget yet", "无法" is
# "unable"), and written alone they already score below every threshold.
NOTHING_TO_REPORT_PHRASES: tuple[str, ...] = (
    "n/a", "not applicable", "nothing new", "nothing special", "nothing to report",
    "no comment", "no comments", "etc", "misc",
    "没什么", "没什么特别", "无特别", "暂无更新", "无更新", "等等",
)  # fmt: skip

FILLER_PHRASES: tuple[str, ...] = (
    CONTACT_MADE_PHRASES
    + MOOD_PHRASES
    + PENDING_PHRASES
    + REFERENCE_PHRASES
    + NOTHING_TO_REPORT_PHRASES
    + BOILERPLATE_NEXT_STEP_PHRASES
    + FUNCTION_WORDS
)

# How much information one character carries. An English content word averages about five
# letters, a Chinese word about 1.6 characters, so one Han character is worth about three Latin
# letters. Digits count like letters: "200 seats" and "¥80" are exactly the specifics we want.
HAN_CHARACTER_POINTS = 3
OTHER_CHARACTER_POINTS = 1

# Points that must remain once filler is removed. 12 points is about two content words in
# either script: "price too high" (12), "价格太高" (12), "wants discount" (13). Summary and
# feedback must carry a fact; a next action only needs a verb and an object: "send quote" (9),
# "约演示" (9), "sign contract" (12), while "call"/"跟进"/"下周再联系" leave nothing.
# The price of one bar for both scripts: the tersest real feedback ("太贵了" 6, "Needs SSO" 8)
# is sent back for one more detail, which is what the form is for.
MINIMUM_POINTS: dict[NoteKind, int] = {"summary": 12, "feedback": 12, "next_action": 8}

VAGUE_NOTE_MESSAGES: dict[NoteKind, Text] = {
    "summary": _(
        "Too vague for a colleague to act on — say what was discussed: product, quantities, "
        "prices, objections or decisions (e.g. 'Quoted 200 seats at $80; they compare us with "
        "Acme')."
    ),
    "feedback": _(
        "Say what the customer actually said or wants "
        "(e.g. 'Needs CFO sign-off; budget decided in December')."
    ),
    "next_action": _("Say what you will do next (e.g. 'Send revised quote with 3-year discount')."),
}


def _is_han(ch: str) -> bool:
    code = ord(ch)
    return (
        0x4E00 <= code <= 0x9FFF  # CJK Unified Ideographs
        or 0x3400 <= code <= 0x4DBF  # Extension A
        or 0x20000 <= code <= 0x3FFFF  # Extensions B and later
        or 0xF900 <= code <= 0xFAFF  # Compatibility Ideographs
    )


def _normalise_note(text: str) -> str:
    """NFKC + casefold; every run of punctuation, symbols or spaces (either script) -> ' '."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    kept = "".join(ch if ch.isalnum() else " " for ch in folded)
    return " ".join(kept.split())


# A Latin word boundary that ignores Han characters (which regex \b would treat as letters).
_LATIN_OR_DIGIT = r"[0-9a-z\u00c0-\u024f]"


def _phrase_pattern(phrase: str) -> str:
    """Regex for one filler phrase, tolerant of how the note was spaced."""
    normalised = _normalise_note(phrase)
    # Gaps between words (and between Han characters) may be typed as one space, several or none:
    # "follow up" also matches "followup", "电话沟通" also matches "电话 沟通".
    has_han = any(_is_han(ch) for ch in normalised)
    units = list(normalised.replace(" ", "")) if has_han else normalised.split()
    body = r"\s*".join(re.escape(unit) for unit in units)
    if has_han:
        return body
    # Whole Latin words only, whatever script stands next to them ("called王总" still matches).
    return rf"(?<!{_LATIN_OR_DIGIT}){body}(?!{_LATIN_OR_DIGIT})"


def _filler_regex(phrases: Iterable[str]) -> re.Pattern[str]:
    # Longest first, so that "follow up" is removed as a whole before "follow" is tried, and
    # "继续跟进" before "跟进".
    ordered = sorted({_normalise_note(p) for p in phrases}, key=len, reverse=True)
    return re.compile("|".join(_phrase_pattern(p) for p in ordered))


_FILLER = _filler_regex(FILLER_PHRASES)


def _strip_filler(normalised: str) -> str:
    # Replaced by a space, not removed, so the Latin words on either side stay separate words.
    return _FILLER.sub(" ", normalised)


def _informative_points(text: str) -> int:
    """How much specific content a note carries once filler phrases are taken out."""
    remainder = _strip_filler(_normalise_note(text))
    return sum(
        HAN_CHARACTER_POINTS if _is_han(ch) else OTHER_CHARACTER_POINTS
        for ch in remainder
        if ch.isalnum()
    )


def check_specific_note(text: str, *, kind: NoteKind) -> None:
    """Raise FieldError when the note is too vague to be useful to a colleague reading it later."""
    if _informative_points(text) < MINIMUM_POINTS[kind]:
        raise FieldError(VAGUE_NOTE_MESSAGES[kind])


# ---------------------------------------------------------------------------------------------
# Masking for logs and list views
# ---------------------------------------------------------------------------------------------

# Keeping first 3 + last 4 must still hide at least 3 digits, or the number is one guess away.
_SHORTEST_NUMBER_FOR_PREFIX_AND_SUFFIX = 3 + 3 + 4


def _mask_digits(digits: str) -> str:
    if len(digits) >= _SHORTEST_NUMBER_FOR_PREFIX_AND_SUFFIX:
        return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    shown = digits[-2:] if len(digits) > 2 else ""
    return "*" * (len(digits) - len(shown)) + shown


def mask_phone(e164: str) -> str:
    """'+8613800138000' -> '+86 138****8000'; short numbers keep only their last 2 digits."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        # Not E.164 (should not happen for stored values): mask its digits without a country code.
        return _mask_digits(re.sub(r"\D", "", e164))
    national = phonenumbers.national_significant_number(number)
    return f"+{number.country_code} {_mask_digits(national)}"


def mask_email(email: str) -> str:
    """'jane.doe@acme.com' -> 'j***@acme.com'; a one-letter local part -> '*@acme.com'."""
    local, at, domain = email.rpartition("@")
    if not at:
        return "***"
    if len(local) <= 1:
        return f"*@{domain}"
    # A fixed number of stars, so the mask does not reveal the length of the name.
    return f"{local[0]}***@{domain}"
