"""Field rules of the follow-up form: text, phone, email, vague notes and masking."""

from __future__ import annotations

import pytest

from bot.i18n import _
from bot.validation import (
    FieldError,
    NoteKind,
    check_specific_note,
    clean_text,
    mask_email,
    mask_phone,
    normalize_email,
    normalize_phone,
    require_text,
)

ALL_KINDS: tuple[NoteKind, ...] = ("summary", "feedback", "next_action")


def test_field_error_is_a_value_error_whose_text_is_the_message() -> None:
    error = FieldError("Please fill in Company.")
    assert isinstance(error, ValueError)
    assert str(error) == "Please fill in Company."


# ---------------------------------------------------------------------------------------------
# Text
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, ""),
        ("", ""),
        ("  Acme  ", "Acme"),
        ("\t\nAcme\r\n", "Acme"),
        ("\u3000阿克米\u3000", "阿克米"),  # full-width space typed by a Chinese IME
        ("\u200bAcme\ufeff", "Acme"),  # zero-width space / BOM from copy-paste
        ("\u200b \u3000\u200d", ""),
        ("Acme  Corp", "Acme  Corp"),  # inner text kept as typed
        ("阿克米\u3000公司", "阿克米\u3000公司"),
        ("\u00a0Acme\u00a0", "Acme"),  # no-break space
    ],
)
def test_clean_text(raw: str | None, expected: str) -> None:
    assert clean_text(raw) == expected


@pytest.mark.parametrize(
    ("raw", "max_length", "expected"),
    [
        ("Acme", 10, "Acme"),
        ("  Acme  ", 4, "Acme"),  # length is measured after stripping
        ("阿克米公司", 5, "阿克米公司"),  # characters, not bytes
        ("x" * 200, 200, "x" * 200),
    ],
)
def test_require_text_accepts(raw: str, max_length: int, expected: str) -> None:
    assert require_text(raw, missing=_("Please fill in the company."), max_length=max_length) == (
        expected
    )


@pytest.mark.parametrize("raw", [None, "", "   ", "\u3000\u200b"])
def test_require_text_rejects_empty(raw: str | None) -> None:
    with pytest.raises(FieldError) as caught:
        require_text(raw, missing=_("Please fill in the company."), max_length=10)
    assert str(caught.value) == "Please fill in the company."


@pytest.mark.parametrize(("raw", "max_length"), [("x" * 201, 200), ("阿克米公司", 4)])
def test_require_text_rejects_too_long(raw: str, max_length: int) -> None:
    with pytest.raises(FieldError) as caught:
        require_text(raw, missing=_("Please fill in the company."), max_length=max_length)
    assert str(caught.value) == f"Too long — keep it under {max_length} characters."


# ---------------------------------------------------------------------------------------------
# Phone numbers
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+86 138 0013 8000", "CN", "+8613800138000"),
        ("13800138000", "CN", "+8613800138000"),
        ("138-0013-8000", "CN", "+8613800138000"),
        ("138.0013.8000", "CN", "+8613800138000"),
        ("(138) 0013 8000", "CN", "+8613800138000"),
        ("+86 (0)10 1234 5678", "CN", "+861012345678"),  # landline with trunk 0 in brackets
        ("010-12345678", "CN", "+861012345678"),
        ("＋８６　１３８００１３８０００", "CN", "+8613800138000"),  # full-width
        ("１３８００１３８０００", "CN", "+8613800138000"),
        ("\u200b 13800138000\u3000", "CN", "+8613800138000"),
        ("0086 138 0013 8000", "CN", "+8613800138000"),  # 00 is CN's own exit code
        ("0086 138 0013 8000", "US", "+8613800138000"),  # 00 read as + although US dials 011
        ("008613800138000", "GB", "+8613800138000"),
        ("0011 86 138 0013 8000", "AU", "+8613800138000"),  # AU's own 0011 still works
        ("011 86 138 0013 8000", "US", "+8613800138000"),
        ("(212) 555-0100", "US", "+12125550100"),
        ("212.555.0100", "US", "+12125550100"),
        ("+1 212 555 0100", "CN", "+12125550100"),  # country code beats the default region
        ("+44 20 7946 0958", "CN", "+442079460958"),
        ("13800138000", "cn", "+8613800138000"),  # region code case does not matter
        ("+8613800138000", "XX", "+8613800138000"),  # no region needed after a +code
    ],
)
def test_normalize_phone_accepts(raw: str, region: str, expected: str) -> None:
    assert normalize_phone(raw, region) == expected


@pytest.mark.parametrize(
    ("raw", "region", "expected_message"),
    [
        # not a number at all
        ("abc", "CN", "'abc' isn't a phone number — type the digits, e.g. +86 138 0013 8000"),
        ("call me", "US", "'call me' isn't a phone number — type the digits, e.g. +1 212 555 0100"),
        ("---", "CN", "'---' isn't a phone number"),
        ("", "CN", "Please enter a phone number, e.g. +86 138 0013 8000"),
        ("\u3000", "CN", "Please enter a phone number"),
        # letters mixed with digits: vanity numbers, extensions, labels
        ("1-800-FLOWERS", "US", "'1-800-FLOWERS' has letters in it — type the digits only"),
        ("+86 13800138000 ext. 12", "CN", "has letters in it"),
        ("手机13800138000", "CN", "'手机13800138000' has letters in it"),
        ("138OO138OOO", "CN", "has letters in it"),  # letter O typed for zero
        # too short for the country
        ("12345", "CN", "'12345' has too few digits for a phone number in China"),
        ("555-0100", "US", "'555-0100' has too few digits for a phone number in United States"),
        ("+86 1", "CN", "has too few digits for a phone number in China"),
        # too long for the country
        ("+86 1380013800099999", "CN", "has too many digits for a phone number in China"),
        ("138 0013 8000 / 139 0013 9000", "CN", "has too many digits"),
        # right shape, but no such number
        (
            "1380013800",
            "CN",
            "'1380013800' isn't a valid phone number for China — include the country code, "
            "e.g. +86 138 0013 8000",
        ),
        ("138001380001", "CN", "isn't a valid phone number for China"),
        (
            "+86 100 0013 8000",
            "CN",
            "'+86 100 0013 8000' isn't a valid phone number for China — check the digits",
        ),
        (
            "+1 999 555 0100",
            "US",
            "isn't a valid phone number for United States — check the digits",
        ),
        (
            "(999) 555-0100",
            "US",
            "isn't a valid phone number for United States — include the country code",
        ),
        # country code problems
        ("+999 1234", "CN", "'+999 1234' starts with an unknown country code"),
        ("13800138000", "XX", "'13800138000' needs a country code, e.g. +86 138 0013 8000"),
    ],
)
def test_normalize_phone_rejects(raw: str, region: str, expected_message: str) -> None:
    with pytest.raises(FieldError) as caught:
        normalize_phone(raw, region)
    assert expected_message in str(caught.value)


def test_normalize_phone_cuts_long_input_short_in_the_message() -> None:
    pasted = "Her mobile is 138 0013 8000 but she prefers WeChat in the afternoon"
    with pytest.raises(FieldError) as caught:
        normalize_phone(pasted, "CN")
    assert len(str(caught.value)) < 120
    assert "…'" in str(caught.value)


# ---------------------------------------------------------------------------------------------
# Email addresses
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("jane.doe@acme.com", "jane.doe@acme.com"),
        ("  jane.doe@acme.com\u3000", "jane.doe@acme.com"),
        ("jane.doe@ACME.COM", "jane.doe@acme.com"),  # domain lower-cased
        ("Jane.Doe@Acme.Com", "jane.doe@acme.com"),  # one spelling per address, for matching
        ("jane+crm@acme.co.uk", "jane+crm@acme.co.uk"),
        ("jane@例子.公司", "jane@例子.公司"),  # internationalised domain, kept in Unicode
        ("jane@MÜNCHEN.DE", "jane@münchen.de"),
        ("张三@例子.中国", "张三@例子.中国"),  # internationalised local part
        ("ｊａｎｅ＠ａｃｍｅ．ｃｏｍ", "jane@acme.com"),  # typed in full-width mode
        ("jane@acme。com", "jane@acme.com"),  # Chinese full stop
    ],
)
def test_normalize_email_accepts(raw: str, expected: str) -> None:
    assert normalize_email(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected_message"),
    [
        ("", "Please enter an email address, e.g. jane@acme.com"),
        ("janeacme.com", "'janeacme.com' is missing the @ sign, e.g. jane@acme.com"),
        ("jane@acme", "'jane@acme' is missing a domain ending like .com"),
        ("jane@", "'jane@' is missing the part after the @"),
        ("@acme.com", "'@acme.com' is missing the name before the @"),
        ("jane doe@acme.com", "'jane doe@acme.com' has a space in it"),
        ("jane@acme .com", "has a space in it"),
        ("jane@acme.com; bob@acme.com", "looks like several addresses — enter one address only"),
        ("jane..doe@acme.com", "'jane..doe@acme.com' isn't a valid email address. "),
        ("jane@@acme.com", "isn't a valid email address"),
        ("jane@acme..com", "isn't a valid email address"),
        ("jane@localhost.", "isn't a valid email address"),
        ("jane@test.invalid", "isn't a valid email address"),  # reserved name, no DNS needed
    ],
)
def test_normalize_email_rejects(raw: str, expected_message: str) -> None:
    with pytest.raises(FieldError) as caught:
        normalize_email(raw)
    assert expected_message in str(caught.value)


def test_normalize_email_explains_with_the_library_reason() -> None:
    with pytest.raises(FieldError) as caught:
        normalize_email("jane..doe@acme.com")
    assert "two periods in a row" in str(caught.value)


# ---------------------------------------------------------------------------------------------
# Vague notes
# ---------------------------------------------------------------------------------------------

VAGUE_NOTES = [
    # from the team's old spreadsheet
    "called, interested",
    "Called. Interested!",
    "follow up",
    "followed up",
    "Follow-up",
    "ok",
    "OK.",
    "talked",
    "discussed",
    "sent email",
    "emailed",
    "no answer",
    "interested",
    "will follow up",
    "tbd",
    "n/a",
    "N/A",
    "same as before",
    "see above",
    "电话沟通，客户有兴趣",
    "电话沟通",
    "已沟通",
    "沟通了",
    "有意向",
    "客户有兴趣",
    "跟进中",
    "继续跟进",
    "同上",
    "无",
    "考虑中",
    "已联系",
    "发了邮件",
    "再说",
    "   ",
    "",
    # longer, but still nothing a colleague could act on
    "Called the customer, he is interested",
    "Had a good call with the client",
    "Followed up by email, waiting for reply",
    "Spoke with them, positive",
    "Checked in, no news",
    "call back next week",
    "Left a voicemail",
    "客户很感兴趣，下周再联系",
    "客户在考虑，过几天再跟进",
    "打了电话没人接",
    "客户反馈不错",
    "同上次",
    "Not applicable",
    "nothing to report",
    "没什么特别",
    "电话 沟通",  # spaced out
    # mixed language
    "called 王总, 有意向",
    "followup 跟进中",
    "Sent 邮件, ok",
    "跟进 follow up",
]

SPECIFIC_NOTES = [
    "Quoted 200 seats at $80; they compare us with Acme",
    "Demoed the reporting module to their CFO; she asked about SSO",
    "Asked for a 3-year price and a reference customer in retail",
    "客户对200套的报价有兴趣，要求下周安排产品演示",
    "王总说预算12月才定，需要CFO签字",
    "对比了竞品价格，客户希望打九折",
    "Needs CFO sign-off; budget decided in December",
    # a specific note that also contains vague phrases
    "Called: quoted 200 seats at $80, interested in SSO",
    "电话沟通：客户要200套，报价¥80/套",
    # short but real facts
    "Price too high",
    "价格太高",
    "Wants a discount",
    "暂无预算",  # "no budget yet": 暂无 is only a placeholder when it is the whole note
    "Budget frozen until Q3",
    "They chose Acme, cheaper by 20%",
    # mixed language
    "Demo 给 CFO，她问了SSO",
    "客户要求SSO和3年折扣",
    "王总 wants 3-year pricing before 12月",
]

SPECIFIC_NEXT_ACTIONS = [
    "Send revised quote with 3-year discount",
    "发送修改后的报价单",
    "安排技术演示",
    "Book demo",  # "ok" inside "Book" must not be taken for filler
    "send quote",
    "约演示",
    "签合同",
    "Email the contract to 王总",
    "Prepare pilot proposal",
    "发案例给王总",
    "Meeting with CFO on Friday",
]

VAGUE_NEXT_ACTIONS = [
    "follow up",
    "call",
    "call tomorrow",
    "keep in touch",
    "Send info",
    "跟进",
    "再联系",
    "下周再打电话",
    "再约",
    "继续跟进",
]


def _message_for(kind: NoteKind) -> str:
    with pytest.raises(FieldError) as caught:
        check_specific_note("ok", kind=kind)
    return str(caught.value)


@pytest.mark.parametrize("kind", ALL_KINDS)
@pytest.mark.parametrize("note", VAGUE_NOTES)
def test_vague_notes_are_rejected(note: str, kind: NoteKind) -> None:
    with pytest.raises(FieldError):
        check_specific_note(note, kind=kind)


@pytest.mark.parametrize("kind", ALL_KINDS)
@pytest.mark.parametrize("note", SPECIFIC_NOTES)
def test_specific_notes_are_accepted(note: str, kind: NoteKind) -> None:
    check_specific_note(note, kind=kind)


@pytest.mark.parametrize("note", SPECIFIC_NEXT_ACTIONS)
def test_specific_next_actions_are_accepted(note: str) -> None:
    check_specific_note(note, kind="next_action")


@pytest.mark.parametrize("note", VAGUE_NEXT_ACTIONS)
def test_vague_next_actions_are_rejected(note: str) -> None:
    with pytest.raises(FieldError):
        check_specific_note(note, kind="next_action")


@pytest.mark.parametrize("note", ["send quote", "约演示", "Book demo"])
@pytest.mark.parametrize("kind", ["summary", "feedback"])
def test_summary_and_feedback_are_stricter_than_next_action(note: str, kind: NoteKind) -> None:
    check_specific_note(note, kind="next_action")
    with pytest.raises(FieldError):
        check_specific_note(note, kind=kind)


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (
            "summary",
            "Too vague for a colleague to act on — say what was discussed: product, quantities, "
            "prices, objections or decisions (e.g. 'Quoted 200 seats at $80; they compare us "
            "with Acme').",
        ),
        (
            "feedback",
            "Say what the customer actually said or wants "
            "(e.g. 'Needs CFO sign-off; budget decided in December').",
        ),
        (
            "next_action",
            "Say what you will do next (e.g. 'Send revised quote with 3-year discount').",
        ),
    ],
)
def test_vague_note_message_says_what_a_good_note_contains(kind: NoteKind, expected: str) -> None:
    assert _message_for(kind) == expected


# ---------------------------------------------------------------------------------------------
# Masking
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("e164", "expected"),
    [
        ("+8613800138000", "+86 138****8000"),
        ("+12125550100", "+1 212***0100"),
        ("+442079460958", "+44 207***0958"),
        ("+861012345678", "+86 101***5678"),
        ("+6581234567", "+65 ******67"),  # 8 digits: first 3 + last 4 would hide only one
        ("+8612345", "+86 ***45"),
    ],
)
def test_mask_phone(e164: str, expected: str) -> None:
    assert mask_phone(e164) == expected


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        ("jane.doe@acme.com", "j***@acme.com"),
        ("jo@acme.com", "j***@acme.com"),  # the number of stars does not give the length away
        ("j@acme.com", "*@acme.com"),
        ("张三@例子.中国", "张***@例子.中国"),
        ("not-an-address", "***"),
    ],
)
def test_mask_email(email: str, expected: str) -> None:
    assert mask_email(email) == expected
