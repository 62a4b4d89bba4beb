"""The weekly pipeline chart for the team channel's Monday summary, as PNG bytes.

Two panels, sized for a phone (Slack shows images about 360 px wide there, so every font here
is large): customers by status in pipeline order, and the follow-ups each owner logged in each
of the last weeks.

Rendering uses matplotlib's object API (``Figure`` + ``FigureCanvasAgg``) and never pyplot:
pyplot keeps global state, and the bot renders from worker threads.

Every word the chart draws itself (panel titles, status labels, legend, notes) is in the
language of the `Translator` it is given — the channel's; the caller passes the title and week
labels already in that language (see `chart_language`).

Chinese text needs a font with CJK glyphs; DejaVu Sans (matplotlib's default) has none. The
first chart looks for an installed CJK font (Noto Sans CJK, Source Han Sans, WenQuanYi, Droid
Sans Fallback, …) and, when there is one, uses it as a fallback after DejaVu Sans. Without one,
a Chinese chart is drawn in English instead, and every text is reduced to what the fonts can
draw (an owner name with nothing drawable left becomes "Owner N"), so matplotlib never has to
draw a missing glyph: no empty boxes and no "Glyph missing" warnings.
"""

from __future__ import annotations

import io
import threading
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

from matplotlib import colormaps, font_manager
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure, SubFigure
from matplotlib.font_manager import FontProperties
from matplotlib.ft2font import FT2Font

from bot.i18n import DEFAULT_LANGUAGE, Language, Text, Translator, _, translator

__all__ = ["STATUS_ORDER", "chart_language", "weekly_chart_png"]

# --------------------------------------------------------------------------------------------
# what is drawn
# --------------------------------------------------------------------------------------------

STATUS_ORDER: tuple[str, ...] = ("prospect", "interested", "won", "existing", "lost")
# The same messages as the status labels everywhere else in the app (handlers/blocks.py), so a
# status reads the same in the chart as in the summary above it.
_STATUS_LABELS: dict[str, Text] = {
    "prospect": _("Prospect"),
    "interested": _("Interested"),
    "won": _("Won"),
    "existing": _("Existing customer"),
    "lost": _("Lost"),
}
# Okabe-Ito: distinguishable with the common colour-vision deficiencies, and each bar carries
# its count in text too, so nothing depends on colour alone.
_STATUS_COLORS: dict[str, str] = {
    "prospect": "#56B4E9",
    "interested": "#E69F00",
    "won": "#009E73",
    "existing": "#0072B2",
    "lost": "#D55E00",
}
_MAX_OWNER_ROWS = 9  # the top 8 and "Others (N)"; 9 owners fit without folding one away
_MAX_LABEL_WIDTH = 18  # display columns (a CJK character takes two)
_MAX_TITLE_WIDTH = 40

# 1200 x 1500 px portrait at 150 dpi; the no-data card is 1200 x 600.
_DPI = 150
_SIZE_IN = (8.0, 10.0)
_EMPTY_SIZE_IN = (8.0, 4.0)

# Sizes in points. At 150 dpi shown 360 px wide, 16 pt comes out about 10 px tall on a phone.
_TITLE_PT = 22
_PANEL_TITLE_PT = 18
_LABEL_PT = 16
_VALUE_PT = 16
_SEGMENT_PT = 13
_NOTE_PT = 12

_INK = "#1A1A1A"
_MUTED = "#555555"

# --------------------------------------------------------------------------------------------
# fonts
# --------------------------------------------------------------------------------------------

# Preferred CJK families, Simplified Chinese first (the team writes Simplified Chinese).
_CJK_FAMILIES: tuple[str, ...] = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Droid Sans Fallback",
    "Noto Sans CJK TC",
    "Noto Sans CJK JP",
    "Source Han Sans",
    "PingFang SC",
    "Microsoft YaHei",
    "AR PL UMing CN",
)
# Font files installed after matplotlib built its font cache are not in that cache; these
# name fragments find them among the system's font files.
_CJK_FILE_HINTS: tuple[str, ...] = (
    "notosanscjk",
    "notosanssc",
    "sourcehansans",
    "wqy-",
    "droidsansfallback",
    "uming",
)


@cache
def _cjk_probe() -> str:
    """What a CJK font must be able to draw to be used: the chart's own words in Chinese (the
    status labels, panel titles, legend, a date)."""
    zh = translator("zh")
    texts = [zh.render(label) for label in _STATUS_LABELS.values()]
    texts += _fixed_texts(zh, weeks=4, total=0)
    texts.append(zh.calendar_day(date(2026, 11, 30)))
    return "".join(sorted(set("".join(texts)) - set(" 0123456789")))


@dataclass(frozen=True)
class _Fonts:
    """The families text is drawn with (DejaVu Sans first, then fallbacks) and the code
    points that at least one of them has a glyph for."""

    families: tuple[str, ...]
    covered: frozenset[int]
    latin_covered: frozenset[int]  # what the first family alone can draw
    fallback_has_bold: bool = False

    @property
    def has_cjk(self) -> bool:
        return self.can_draw(_cjk_probe())

    def can_write(self, language: Language) -> bool:
        """Whether a chart in ``language`` can be drawn with these fonts."""
        return language == "en" or self.has_cjk

    def can_draw(self, text: str) -> bool:
        return all(ord(ch) in self.covered for ch in text)

    def family(self, *texts: str) -> list[str]:
        """The first family alone when it can draw all of ``texts``, else the whole chain;
        naming a fallback only where it is needed keeps matplotlib from looking it up (and
        from logging that it has no bold face) for text that never uses it."""
        if all(ord(ch) in self.latin_covered for text in texts for ch in text):
            return [self.families[0]]
        return list(self.families)

    def bold(self, *texts: str) -> str:
        """Bold, unless the text needs a fallback font that has no bold face."""
        return "bold" if self.fallback_has_bold or len(self.family(*texts)) == 1 else "normal"


_font_lock = threading.Lock()
_font_cache: _Fonts | None = None


def _fonts() -> _Fonts:
    """The font chain, found once per process (registering a font changes matplotlib's global
    font list, hence the lock)."""
    global _font_cache
    with _font_lock:
        if _font_cache is None:
            _font_cache = _discover_fonts()
        return _font_cache


def _charmap(path: str) -> frozenset[int]:
    return frozenset(FT2Font(path).get_charmap())


def _family_path(family: str) -> str | None:
    """The file matplotlib would use for ``family``, or None if it has no such family (asking
    without a fallback keeps matplotlib from substituting DejaVu and logging about it)."""
    try:
        return str(
            font_manager.fontManager.findfont(
                FontProperties(family=family), fallback_to_default=False
            )
        )
    except ValueError:
        return None


def _latin_fonts() -> _Fonts:
    path = font_manager.findfont(FontProperties(family="DejaVu Sans"))
    covered = _charmap(str(path))
    return _Fonts(families=("DejaVu Sans",), covered=covered, latin_covered=covered)


def _discover_fonts(extra_files: Iterable[str] = ()) -> _Fonts:
    """DejaVu Sans plus the first CJK family that can draw the status labels, if any.

    ``extra_files``: font files to register first (a font shipped outside the system's font
    directories)."""
    base = _latin_fonts()
    for extra in extra_files:
        font_manager.fontManager.addfont(extra)
    known = {entry.name for entry in font_manager.fontManager.ttflist}
    if not any(family in known for family in _CJK_FAMILIES):
        _register_system_cjk_fonts()
    for family in _CJK_FAMILIES:
        path = _family_path(family)
        if path is None:
            continue
        try:
            covered = _charmap(path)
        except (OSError, RuntimeError):  # an unreadable or broken font file: try the next
            continue
        if all(ord(ch) in covered for ch in _cjk_probe()):
            return _Fonts(
                families=(*base.families, family),
                covered=base.covered | covered,
                latin_covered=base.covered,
                fallback_has_bold=_has_bold(family),
            )
    return base


def _has_bold(family: str) -> bool:
    for entry in font_manager.fontManager.ttflist:
        if entry.name == family:
            weight = entry.weight
            if isinstance(weight, str):
                weight = font_manager.weight_dict.get(weight, 400)
            if weight >= 600:
                return True
    return False


def _register_system_cjk_fonts() -> None:
    """Add CJK font files that matplotlib's font cache does not list yet."""
    cached = {entry.fname for entry in font_manager.fontManager.ttflist}
    for path in font_manager.findSystemFonts():
        name = Path(path).name.lower()
        if path not in cached and any(hint in name for hint in _CJK_FILE_HINTS):
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError):
                continue


# --------------------------------------------------------------------------------------------
# text that the fonts can draw
# --------------------------------------------------------------------------------------------


def _escaped(text: str) -> str:
    """``text`` with "$" escaped: matplotlib reads text between two "$" as mathtext."""
    return text.replace("$", r"\$")


def _drawable(text: str, fonts: _Fonts) -> str:
    """``text`` on one line without the characters no font in the chain has (control
    characters, emoji, CJK without a CJK font), tidied at the ends."""
    kept = " ".join("".join(ch for ch in " ".join(text.split()) if fonts.can_draw(ch)).split())
    kept = kept.strip(" ·-–—_/|,;:")
    if kept.startswith("(") and kept.endswith(")") and kept.count("(") == 1:
        kept = kept[1:-1].strip()  # "王磊 (Leo)" -> "Leo", not "(Leo)"
    return kept


def _width(ch: str) -> int:
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def _truncate(text: str, limit: int = _MAX_LABEL_WIDTH) -> str:
    """At most ``limit`` display columns, so a long name cannot squeeze the bars."""
    if sum(_width(ch) for ch in text) <= limit:
        return text
    out, used = "", 0
    for ch in text:
        if used + _width(ch) > limit - 1:
            break
        out += ch
        used += _width(ch)
    return out.rstrip() + "…"


def _status_label(status: str, t: Translator) -> str:
    return t.render(_STATUS_LABELS[status])


def _owner_label(
    name: str, row: int, fonts: _Fonts, t: Translator | None = None
) -> tuple[str, bool]:
    """(label, whether it is a stand-in). A name keeps whatever part the fonts can draw if
    that part has a letter in it ("王磊 (Leo)" -> "Leo"); otherwise it becomes "Owner <row>",
    as there is no honest Latin spelling of 王磊 without transliteration."""
    kept = _drawable(name, fonts)
    if any(ch.isalpha() for ch in kept):
        return _truncate(kept), False
    return (t or translator(DEFAULT_LANGUAGE)).gettext("Owner {row}", row=row), True


def _fixed_texts(t: Translator, *, weeks: int, total: int) -> list[str]:
    """The words every chart may draw, whatever the data (also the CJK font probe)."""
    return [
        _customers_title(t, total),
        _followups_title(t, weeks),
        _legend_title(t),
        t.gettext("No customers yet"),
        t.gettext("No follow-ups logged yet"),
        t.gettext("No data yet"),
        t.gettext("Pipeline"),
        _stand_in_note(t),
    ]


def _customers_title(t: Translator, total: int) -> str:
    return t.gettext("Customers by status · {total} in all", total=total)


def _followups_title(t: Translator, weeks: int) -> str:
    return t.ngettext(
        "Follow-ups logged · last {count} week", "Follow-ups logged · last {count} weeks", weeks
    )


def _legend_title(t: Translator) -> str:
    return t.gettext("Week of (oldest → latest)")


def _stand_in_note(t: Translator) -> str:
    return t.gettext("Names this server has no font for are shown as 'Owner N' (N = row).")


# --------------------------------------------------------------------------------------------
# input
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _OwnerRow:
    name: str
    weekly: tuple[int, ...]

    @property
    def total(self) -> int:
        return sum(self.weekly)


def _validate(
    status_counts: Mapping[str, int],
    logged_per_owner: Mapping[str, Sequence[int]],
    week_labels: Sequence[str],
) -> None:
    unknown = sorted(set(status_counts) - set(STATUS_ORDER))
    if unknown:
        raise ValueError(f"unknown status(es) {unknown}; expected some of {list(STATUS_ORDER)}")
    if any(count < 0 for count in status_counts.values()):
        raise ValueError("status counts must not be negative")
    if not week_labels:
        raise ValueError("week_labels must name at least one week")
    for owner, weekly in logged_per_owner.items():
        if len(weekly) != len(week_labels):
            raise ValueError(
                f"{owner!r} has {len(weekly)} weekly counts for {len(week_labels)} week labels"
            )
        if any(n < 0 for n in weekly):
            raise ValueError(f"{owner!r} has a negative weekly count")


def _owner_rows(
    logged_per_owner: Mapping[str, Sequence[int]], t: Translator | None = None
) -> list[_OwnerRow]:
    """Owners by total, most first (ties by name, so the order is stable); past
    ``_MAX_OWNER_ROWS`` the rest are folded into one "Others (N)" row, drawn last."""
    rows = sorted(
        (_OwnerRow(name, tuple(weekly)) for name, weekly in logged_per_owner.items()),
        key=lambda row: (-row.total, row.name),
    )
    if len(rows) <= _MAX_OWNER_ROWS:
        return rows
    shown, folded = rows[: _MAX_OWNER_ROWS - 1], rows[_MAX_OWNER_ROWS - 1 :]
    summed = tuple(sum(week) for week in zip(*(row.weekly for row in folded), strict=True))
    others = (t or translator(DEFAULT_LANGUAGE)).gettext("Others ({count})", count=len(folded))
    return [*shown, _OwnerRow(others, summed)]


# --------------------------------------------------------------------------------------------
# drawing
# --------------------------------------------------------------------------------------------


def _new_figure(size: tuple[float, float]) -> Figure:
    fig = Figure(figsize=size, dpi=_DPI, layout="constrained", facecolor="white")
    FigureCanvasAgg(fig)  # attaches itself to the figure
    return fig


def _title(fig: Figure | SubFigure, text: str, fonts: _Fonts, *, size: int, left: bool) -> None:
    """A (sub)figure title; panel titles start at the left edge, where the eye starts."""
    fig.suptitle(
        _escaped(text),
        x=0.02 if left else 0.5,
        ha="left" if left else "center",
        fontsize=size,
        fontweight=fonts.bold(text),
        fontfamily=fonts.family(text),
        color=_INK,
    )


def _bare(ax: Axes) -> None:
    """No frame, no x axis: the values are written on the bars."""
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_xticks([])
    ax.tick_params(axis="y", length=0, pad=8)


def _placeholder(ax: Axes, text: str, fonts: _Fonts) -> None:
    ax.set_axis_off()
    ax.text(
        0.5,
        0.5,
        text,
        transform=ax.transAxes,
        ha="center",
        va="center",
        fontsize=_PANEL_TITLE_PT,
        fontfamily=fonts.family(text),
        color=_MUTED,
    )


def _y_labels(ax: Axes, labels: list[str], fonts: _Fonts) -> None:
    ax.set_yticks(
        range(len(labels)),
        labels=[_escaped(label) for label in labels],
        fontsize=_LABEL_PT,
        fontfamily=fonts.family(*labels),
        color=_INK,
    )
    ax.invert_yaxis()  # first row on top


def _draw_statuses(panel: SubFigure, counts: list[int], fonts: _Fonts, t: Translator) -> None:
    total = sum(counts)
    _title(panel, _customers_title(t, total), fonts, size=_PANEL_TITLE_PT, left=True)
    ax = panel.add_subplot()
    if total == 0:
        _placeholder(ax, t.gettext("No customers yet"), fonts)
        return
    bars = ax.barh(
        range(len(counts)), counts, height=0.7, color=[_STATUS_COLORS[s] for s in STATUS_ORDER]
    )
    _y_labels(ax, [_status_label(s, t) for s in STATUS_ORDER], fonts)
    ax.bar_label(
        bars,
        labels=[t.number(c) for c in counts],
        padding=6,
        fontsize=_VALUE_PT,
        fontweight="bold",
        color=_INK,
    )
    ax.set_xlim(0, max(counts) * 1.15)  # room for the count after the longest bar
    _bare(ax)


def _week_colors(weeks: int) -> list[tuple[float, float, float, float]]:
    """Light (oldest) to dark (latest) blue: one hue, ordered by lightness, so the order of
    the weeks reads without telling colours apart."""
    blues = colormaps["Blues"]
    if weeks == 1:
        return [blues(0.7)]
    return [blues(0.3 + 0.6 * i / (weeks - 1)) for i in range(weeks)]


def _text_on(color: tuple[float, float, float, float]) -> str:
    r, g, b, _ = color
    return _INK if 0.299 * r + 0.587 * g + 0.114 * b > 0.55 else "white"


def _fits(value: int, widest: int) -> bool:
    """Whether ``value`` written in its own segment fits inside it (about 3% of the axis per
    digit plus a margin, at these font sizes)."""
    return value > 0 and value / widest >= 0.02 + 0.03 * len(str(value))


def _draw_owners(
    panel: SubFigure, rows: list[_OwnerRow], weeks: list[str], fonts: _Fonts, t: Translator
) -> bool:
    """Stacked bars, one row per owner, one segment per week (numbers inside where they fit,
    the total after the bar); returns whether some owner is shown as "Owner N"."""
    _title(panel, _followups_title(t, len(weeks)), fonts, size=_PANEL_TITLE_PT, left=True)
    ax = panel.add_subplot()
    if not rows:
        _placeholder(ax, t.gettext("No follow-ups logged yet"), fonts)
        return False
    labels = [_owner_label(row.name, i + 1, fonts, t) for i, row in enumerate(rows)]
    positions = range(len(rows))
    widest = max(max(row.total for row in rows), 1)
    left = [0] * len(rows)
    for week, (label, color) in enumerate(zip(weeks, _week_colors(len(weeks)), strict=True)):
        values = [row.weekly[week] for row in rows]
        segments = ax.barh(
            positions,
            values,
            left=left,
            height=0.72,
            color=color,
            edgecolor="white",
            linewidth=1.5,
            label=_escaped(label),
        )
        ax.bar_label(
            segments,
            labels=[t.number(v) if _fits(v, widest) else "" for v in values],
            label_type="center",
            fontsize=_SEGMENT_PT,
            color=_text_on(color),
        )
        left = [a + b for a, b in zip(left, values, strict=True)]
    for y, row in zip(positions, rows, strict=True):
        ax.text(
            row.total + widest * 0.015,
            y,
            t.number(row.total),
            va="center",
            fontsize=_VALUE_PT,
            fontweight="bold",
            color=_INK,
        )
    _y_labels(ax, [text for text, _ in labels], fonts)
    ax.set_xlim(0, widest * 1.15)
    _bare(ax)
    legend_title = _legend_title(t)
    ax.legend(
        loc="upper left",
        bbox_to_anchor=(0.0, -0.01),
        ncols=len(weeks),
        frameon=False,
        handlelength=1.1,
        columnspacing=1.2,
        title=legend_title,
        title_fontproperties=FontProperties(family=fonts.family(legend_title), size=_SEGMENT_PT),
        alignment="left",
        prop=FontProperties(family=fonts.family(*weeks), size=_SEGMENT_PT),
    )
    return any(stand_in for _, stand_in in labels)


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    # No "Software" entry: the bytes then depend on the data alone, not the matplotlib version.
    fig.savefig(buffer, format="png", dpi=_DPI, metadata={"Software": None})
    return buffer.getvalue()


# matplotlib documents itself as not thread-safe (shared font and text-layout caches), so
# charts are drawn one at a time; one chart a week per channel makes the wait immaterial.
_render_lock = threading.Lock()


def chart_language(language: Language) -> Language:
    """The language a chart for ``language`` is drawn in: that one when the fonts here can
    write it, else English (a Chinese chart on a server without a CJK font)."""
    with _render_lock:
        return language if _fonts().can_write(language) else DEFAULT_LANGUAGE


def weekly_chart_png(
    *,
    status_counts: Mapping[str, int],
    logged_per_owner: Mapping[str, Sequence[int]],
    week_labels: Sequence[str],
    title: str,
    t: Translator | None = None,
) -> bytes:
    """The Monday pipeline chart as PNG bytes (1200 x 1500 px; 1200 x 600 when there is no
    data at all).

    ``status_counts``: customers per status (prospect, interested, won, existing, lost; a
    missing status counts 0). ``logged_per_owner``: owner display name -> follow-ups logged in
    each week, oldest first, one number per ``week_labels`` entry. ``t``: the language of the
    chart's own words (English by default; English too when the fonts can't write it — pass a
    title and week labels in ``chart_language(...)``). ValueError for an unknown status, a
    negative count, or a week count that does not match ``week_labels``.
    """
    _validate(status_counts, logged_per_owner, week_labels)
    with _render_lock:
        return _png(_chart_figure(status_counts, logged_per_owner, week_labels, title, t))


def _chart_figure(
    status_counts: Mapping[str, int],
    logged_per_owner: Mapping[str, Sequence[int]],
    week_labels: Sequence[str],
    title: str,
    t: Translator | None,
) -> Figure:
    """The chart, drawn but not saved; the caller holds ``_render_lock``."""
    counts = [int(status_counts.get(status, 0)) for status in STATUS_ORDER]
    fonts = _fonts()
    if t is None or not fonts.can_write(t.language):
        t = translator(DEFAULT_LANGUAGE)
    rows = _owner_rows(logged_per_owner, t)
    shown_title = _truncate(_drawable(title, fonts), _MAX_TITLE_WIDTH) or t.gettext("Pipeline")
    if sum(counts) == 0 and not rows:
        return _no_data_figure(shown_title, fonts, t)
    weeks = [
        _drawable(w, fonts) or t.gettext("Week {number}", number=i + 1)
        for i, w in enumerate(week_labels)
    ]
    return _figure(shown_title, counts, rows, weeks, fonts, t)


def _no_data_figure(title: str, fonts: _Fonts, t: Translator) -> Figure:
    fig = _new_figure(_EMPTY_SIZE_IN)
    _title(fig, title, fonts, size=_TITLE_PT, left=False)
    _placeholder(fig.add_subplot(), t.gettext("No data yet"), fonts)
    return fig


def _figure(
    title: str,
    counts: list[int],
    rows: list[_OwnerRow],
    weeks: list[str],
    fonts: _Fonts,
    t: Translator,
) -> Figure:
    fig = _new_figure(_SIZE_IN)
    _title(fig, title, fonts, size=_TITLE_PT, left=False)
    # Panel heights follow their row counts, so bars are about equally thick in both.
    grid = fig.add_gridspec(2, 1, height_ratios=[len(STATUS_ORDER) + 1.2, max(len(rows), 3) + 2.8])
    top, bottom = fig.add_subfigure(grid[0]), fig.add_subfigure(grid[1])
    _draw_statuses(top, counts, fonts, t)
    if _draw_owners(bottom, rows, weeks, fonts, t):
        # A figure-level x label, so the constrained layout makes room for it below the legend.
        note = _stand_in_note(t)
        fig.supxlabel(
            note,
            x=0.02,
            ha="left",
            fontsize=_NOTE_PT,
            fontfamily=fonts.family(note),
            color=_MUTED,
        )
    return fig
