"""Chinese translations keep Slack's mrkdwn working, and use one word for one thing.

Slack only takes `*bold*` and `_italic_` as markup when the closing marker is followed by a
space, ASCII punctuation or the end, and the opening one preceded by a space or the start: next
to full-width punctuation or a Chinese character the asterisks show as typed. English text
always has the space; Chinese doesn't, so every Chinese message is checked here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from babel.messages.pofile import read_po

from bot.i18n import LOCALE_DIR, translator
from bot.merge import MergeSummary
from handlers.merge import merged_message, undone_message

ZH_CATALOG = LOCALE_DIR / "zh" / "LC_MESSAGES" / "messages.po"

# Chinese characters, CJK and full-width punctuation, and the curly quotes Chinese text uses.
WIDE = (
    "\u2e80-\u2fff\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
    "\ufe30-\ufe4f\uff00-\uffef\u2018\u2019\u201c\u201d\u2026"
)
# Things that contain `*` or `_` without being markup: placeholders, mentions and links,
# emoji codes and inline code. Each becomes a neutral ASCII letter.
NOT_MARKUP = re.compile(r"\{[^{}]*\}|<[^<>]*>|:[a-z0-9_+-]+:|`[^`]*`")
# A marker: `*`, or `_` that isn't inside a word (ADMIN_USER_IDS).
MARKER = re.compile(r"\*|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")


def markup_problems(text: str) -> list[str]:
    """Each `*`/`_` that opens right after, or closes right before, a wide character."""
    plain = NOT_MARKUP.sub("x", text)
    problems = []
    open_at: dict[str, int | None] = {"*": None, "_": None}
    for found in MARKER.finditer(plain):
        marker, at = found.group(), found.start()
        before = plain[at - 1] if at else ""
        after = plain[at + 1] if at + 1 < len(plain) else ""
        if open_at[marker] is None:
            open_at[marker] = at
            if before and re.match(f"[{WIDE}]", before):
                problems.append(f"{marker} opens right after “{before}”: {text!r}")
        else:
            open_at[marker] = None
            if after and re.match(f"[{WIDE}]", after):
                problems.append(f"{marker} closes right before “{after}”: {text!r}")
    return problems


def zh_translations() -> Iterator[str]:
    with ZH_CATALOG.open("rb") as handle:
        catalog = read_po(handle)
    for message in catalog:
        if not message.id:
            continue
        strings = (message.string,) if isinstance(message.string, str) else message.string
        yield from (str(string) for string in strings or () if string)


@pytest.mark.parametrize(
    "text",
    [
        "*<@{manager}>*：{reps}",
        "*<@{manager}>* ：_还没有组员_",
        "确定删除 *#{id} {name}*（{company}）吗？",
        "已撤销合并：*王磊* · 明德",
        "带*撤销合并* 按钮",
    ],
)
def test_the_check_finds_markup_next_to_wide_characters(text: str) -> None:
    assert markup_problems(text)


@pytest.mark.parametrize(
    "text",
    [
        "*<@{manager}>* ：{reps}",
        "*<@{manager}>* ： _还没有组员_",
        "确定删除 *#{id} {name}* （{company}）吗？",
        "*当前团队*\n还没有主管",
        "*下次联系：* {when}",
        "_由 <@{editor}> 编辑于 {when}_",
        "只有管理员可以管理团队（在 ADMIN_USER_IDS 中设置）。",
        ":white_check_mark: 已完成",
        "*Next contact:* {when}",
    ],
)
def test_the_check_passes_markup_with_room_around_it(text: str) -> None:
    assert markup_problems(text) == []


def test_no_chinese_translation_glues_markup_to_a_wide_character() -> None:
    problems = [problem for text in zh_translations() for problem in markup_problems(text)]
    assert problems == []


def test_merge_notices_with_bold_names_render_as_markup_in_chinese() -> None:
    # {away} and {kept} start with a bold name: the sentence around them must leave room.
    summary = MergeSummary(
        log_id=7,
        kept_id=1,
        kept_name="王磊",
        kept_company="明德科技",
        merged_id=2,
        merged_name="王磊",
        merged_company="明德",
        moved_followups=2,
        filled_fields=("email",),
        followup_owners=("U0REP0001",),
    )
    t = translator("zh")
    texts = [
        merged_message(summary, t)["blocks"][0]["text"]["text"],
        undone_message(summary, t, actor_id="U0REP0001", moved=2)["blocks"][0]["text"]["text"],
    ]
    assert [problem for text in texts for problem in markup_problems(text)] == []
    # Sentences in Chinese run on without a space after the full stop.
    assert "。保留的客户" in texts[0]


# --- one word for one thing ------------------------------------------------------------------

# (the word to avoid, what it was used for, the word to use)
INCONSISTENT_TERMS = [
    ("经理", "a manager", "主管"),
    ("首页", "the Home tab", "主页"),
    ("「", "quotes", "“"),
    ("」", "quotes", "”"),
    ("分配销售", "reps", "分配组员"),
]


@pytest.mark.parametrize(("avoid", "meaning", "use"), INCONSISTENT_TERMS)
def test_one_chinese_word_per_thing(avoid: str, meaning: str, use: str) -> None:
    used = [text for text in zh_translations() if avoid in text]
    assert used == [], f"say {use} for {meaning}"


def test_the_contact_method_is_never_called_contact_details() -> None:
    t = translator("zh")
    # 联系方式 means phone/email; how a contact happened is 跟进方式.
    for msgid in ("How", "method", "Pick how you contacted the customer."):
        assert "联系方式" not in t.gettext(msgid)
        assert "跟进方式" in t.gettext(msgid)
