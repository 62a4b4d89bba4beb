"""The weekly pipeline chart: a valid, phone-sized PNG for real and empty data, drawn without
warnings whatever fonts the machine has, and safely from several threads at once."""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from PIL import Image

from bot import charts
from bot.charts import weekly_chart_png

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
IEND = b"\x00\x00\x00\x00IEND\xaeB`\x82"
MAX_BYTES = 300_000
WEEKS = ["2 Nov", "9 Nov", "16 Nov", "23 Nov"]
TITLE = "Pipeline · week of 30 Nov 2026"
STATUS_RGB = {  # the Okabe-Ito colours of the status bars
    "prospect": (0x56, 0xB4, 0xE9),
    "interested": (0xE6, 0x9F, 0x00),
    "won": (0x00, 0x9E, 0x73),
    "existing": (0x00, 0x72, 0xB2),
    "lost": (0xD5, 0x5E, 0x00),
}

STATUSES = {"prospect": 42, "interested": 17, "won": 9, "existing": 63, "lost": 5}
OWNERS: dict[str, list[int]] = {
    "王磊": [5, 7, 6, 9],
    "Alice Chen": [8, 6, 10, 12],
    "李娜": [3, 4, 2, 6],
    "Bob Smith": [2, 0, 1, 3],
    "张伟 (David)": [6, 6, 7, 5],
    "Emma Wilson": [1, 2, 2, 1],
    "陈静": [4, 5, 3, 2],
    "Frank O'Brien-Longname the Third": [0, 1, 0, 0],
    "刘洋": [1, 1, 1, 1],
    "Grace Liu": [0, 0, 1, 0],
    "赵强": [0, 0, 0, 0],
    "Anna 🌟": [2, 2, 2, 2],  # an emoji no installed font has
    "Tom $5 $ales": [1, 0, 0, 1],  # two "$": mathtext, unless escaped
}
SMILEY = "Sam $^_^$"  # as mathtext this is a syntax error: drawing it raises


def chart(
    *,
    status_counts: Mapping[str, int] = STATUSES,
    logged_per_owner: Mapping[str, Sequence[int]] = OWNERS,
    week_labels: Sequence[str] = WEEKS,
    title: str = TITLE,
) -> bytes:
    return weekly_chart_png(
        status_counts=status_counts,
        logged_per_owner=logged_per_owner,
        week_labels=week_labels,
        title=title,
    )


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from the IHDR chunk, after checking the PNG's framing."""
    assert data[:8] == PNG_SIGNATURE, "not a PNG signature"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert (length, kind) == (13, b"IHDR"), "the first chunk must be a 13-byte IHDR"
    (crc,) = struct.unpack(">I", data[29:33])
    assert crc == zlib.crc32(data[12:29]), "IHDR checksum mismatch"
    assert data.endswith(IEND), "no IEND chunk at the end"
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def colours(data: bytes) -> set[tuple[int, int, int]]:
    """Every RGB colour in the image (decoding it all also proves the pixel data is intact)."""
    with Image.open(io.BytesIO(data)) as image:
        rgb = image.convert("RGB")
        found = rgb.getcolors(maxcolors=1 << 24)
    assert found is not None
    return {(c[0], c[1], c[2]) for _, c in found if isinstance(c, tuple)}


def render_quietly(**kwargs: Any) -> bytes:
    """chart(**kwargs), failing on any warning (e.g. matplotlib's "Glyph … missing")."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = chart(**kwargs)
    assert [str(w.message) for w in caught] == []
    return data


@pytest.fixture
def latin_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """A machine without any CJK font (as a fresh one is), whatever this one has."""
    monkeypatch.setattr(charts, "_font_cache", charts._latin_fonts())


@pytest.fixture
def with_cjk_font() -> None:
    if not charts._fonts().has_cjk:
        pytest.skip("no CJK font installed here (e.g. apt-get install fonts-noto-cjk)")


# --- the PNG itself ----------------------------------------------------------------------------


def test_realistic_data_gives_a_phone_sized_png_under_300_kb() -> None:
    data = render_quietly()
    assert png_size(data) == (1200, 1500)
    assert 20_000 < len(data) < MAX_BYTES


def test_every_status_bar_is_drawn_in_its_colour() -> None:
    found = colours(chart(status_counts={**STATUSES, "lost": 0}))
    for status in ("prospect", "interested", "won", "existing"):
        assert STATUS_RGB[status] in found, status
    assert STATUS_RGB["lost"] not in found, "a status with no customers has no bar"


def test_the_data_changes_the_picture_and_the_same_data_gives_the_same_bytes() -> None:
    first, again = chart(), chart()
    assert first == again
    assert chart(status_counts={**STATUSES, "won": 10}) != first
    assert chart(logged_per_owner={**OWNERS, "Alice Chen": [8, 6, 10, 13]}) != first
    assert chart(week_labels=["1", "2", "3", "4"]) != first


def test_dollar_signs_in_names_are_text_not_mathtext() -> None:
    owners = {SMILEY: [1, 2, 3, 4], "Alice": [1, 1, 1, 1]}
    assert png_size(render_quietly(logged_per_owner=owners, title=SMILEY)) == (1200, 1500)


def test_inputs_are_not_modified() -> None:
    owners = {name: list(weeks) for name, weeks in OWNERS.items()}
    statuses = dict(STATUSES)
    chart(status_counts=statuses, logged_per_owner=owners)
    assert owners == OWNERS
    assert statuses == STATUSES


# --- empty and partial data ------------------------------------------------------------------


def test_no_data_at_all_gives_a_small_valid_png() -> None:
    data = render_quietly(status_counts={}, logged_per_owner={})
    assert png_size(data) == (1200, 600)
    assert len(data) < MAX_BYTES
    assert not set(STATUS_RGB.values()) & colours(data), "no bars on the no-data card"


@pytest.mark.parametrize(
    ("statuses", "owners"),
    [
        pytest.param({}, OWNERS, id="owners-without-customers"),
        pytest.param(STATUSES, {}, id="customers-without-owners"),
        pytest.param({"won": 0}, {"赵强": [0, 0, 0, 0]}, id="all-zero"),
    ],
)
def test_partial_data_still_gives_the_full_chart(
    statuses: dict[str, int], owners: dict[str, list[int]]
) -> None:
    data = render_quietly(status_counts=statuses, logged_per_owner=owners)
    assert png_size(data) == (1200, 1500)


@pytest.mark.parametrize("weeks", [1, 6])
def test_other_numbers_of_weeks(weeks: int) -> None:
    labels = [f"W{i}" for i in range(weeks)]
    owners = {name: [sum(counts)] * weeks for name, counts in OWNERS.items()}
    assert png_size(render_quietly(logged_per_owner=owners, week_labels=labels)) == (1200, 1500)


# --- owners ------------------------------------------------------------------------------------


def test_top_eight_owners_are_shown_and_the_rest_folded_into_others() -> None:
    rows = charts._owner_rows(OWNERS)
    assert len(rows) == 9
    assert [row.name for row in rows[:3]] == ["Alice Chen", "王磊", "张伟 (David)"]
    others = rows[-1]
    assert others.name == "Others (5)"
    folded = ["刘洋", "Tom $5 $ales", "Frank O'Brien-Longname the Third", "Grace Liu", "赵强"]
    assert {row.name for row in rows[:-1]} == set(OWNERS) - set(folded)
    assert list(others.weekly) == [sum(OWNERS[name][week] for name in folded) for week in range(4)]


def test_nine_owners_are_all_shown_by_name() -> None:
    nine = dict(list(OWNERS.items())[:9])
    rows = charts._owner_rows(nine)
    assert sorted(row.name for row in rows) == sorted(nine)


def test_ties_are_ordered_by_name_so_the_chart_is_stable() -> None:
    rows = charts._owner_rows({"b": [1], "a": [1], "c": [2]})
    assert [row.name for row in rows] == ["c", "a", "b"]


# --- fonts and Chinese text --------------------------------------------------------------------


@pytest.mark.usefixtures("latin_only")
def test_without_a_cjk_font_labels_fall_back_to_what_can_be_drawn() -> None:
    fonts = charts._fonts()
    assert not fonts.has_cjk
    assert charts.chart_language("zh") == "en"  # a Chinese channel's chart is drawn in English
    assert charts._owner_label("王磊", 2, fonts) == ("Owner 2", True)
    assert charts._owner_label("张伟 (David)", 3, fonts) == ("David", False)
    assert charts._owner_label("Anna 🌟", 4, fonts) == ("Anna", False)
    assert charts._owner_label("Alice Chen", 1, fonts) == ("Alice Chen", False)
    long_name, _ = charts._owner_label("Frank O'Brien-Longname the Third", 5, fonts)
    assert long_name.endswith("…")
    assert len(long_name) <= 18


@pytest.mark.usefixtures("latin_only")
def test_without_a_cjk_font_no_glyph_is_missing() -> None:
    data = render_quietly(
        title="管道 · Pipeline 🚀",
        week_labels=["11月2日", "9 Nov", "16 Nov", "23 Nov"],
    )
    assert png_size(data) == (1200, 1500)


@pytest.mark.usefixtures("latin_only")
def test_without_a_cjk_font_a_chinese_only_title_still_renders() -> None:
    assert png_size(render_quietly(title="管道周报")) == (1200, 1500)


@pytest.mark.usefixtures("with_cjk_font")
def test_with_a_cjk_font_chinese_charts_are_drawn_in_chinese_and_nothing_is_missing() -> None:
    fonts = charts._fonts()
    assert charts.chart_language("zh") == "zh"
    assert charts._owner_label("王磊", 2, fonts) == ("王磊", False)
    assert png_size(render_quietly(title="管道 · week of 30 Nov 2026")) == (1200, 1500)


def test_the_glyph_check_can_fail() -> None:
    """The no-warning tests mean something only if drawing a missing glyph does warn here."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure()
    FigureCanvasAgg(fig)
    fig.text(0.5, 0.5, "王磊", fontfamily=["DejaVu Sans"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.savefig(io.BytesIO(), format="png")
    assert any("missing from font" in str(w.message) for w in caught)


# --- input errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({"status_counts": {"hot": 3}}, "unknown status", id="unknown-status"),
        pytest.param({"status_counts": {"won": -1}}, "negative", id="negative-status"),
        pytest.param({"logged_per_owner": {"王磊": [1, 2]}}, "2 weekly counts", id="short"),
        pytest.param({"logged_per_owner": {"王磊": [1, 2, -3, 4]}}, "negative", id="negative"),
        pytest.param({"week_labels": []}, "at least one week", id="no-weeks"),
    ],
)
def test_bad_input_is_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        chart(**kwargs)


# --- threads -----------------------------------------------------------------------------------


def test_several_threads_at_once_get_the_same_charts_as_one_at_a_time() -> None:
    variants: list[dict[str, Any]] = [
        {},
        {"status_counts": {"won": 3, "lost": 1}},
        {"logged_per_owner": {"王磊": [1, 2, 3, 4], "Bob": [4, 3, 2, 1]}},
        {"status_counts": {}, "logged_per_owner": {}},
    ]
    expected = [chart(**v) for v in variants]
    jobs = variants * 3
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with ThreadPoolExecutor(max_workers=6) as pool:
            results = list(pool.map(lambda v: chart(**v), jobs))
    assert [str(w.message) for w in caught] == []
    for i, data in enumerate(results):
        assert data == expected[i % len(variants)], f"job {i} differs from its serial render"
