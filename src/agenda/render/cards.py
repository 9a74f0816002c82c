"""Social cards: the 1200×630 PNG a link shows when it is shared (Open Graph, Twitter, JSON-LD).

What a card says is decided first, as text (`CardText`), so that the image's alt text is exactly
what it shows; `draw` turns it into PNG bytes with the shipped font (fonts/, DejaVu Sans, with its
licence) and no metadata, so the same schedule gives the same bytes (one ETag). Like a page, a
card depends on the clock only through which sessions are past: « Tenue », the next session.
"""

from __future__ import annotations

import functools
import hashlib
import io
from bisect import bisect_right
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from importlib import resources

from PIL import Image, ImageDraw, ImageFont

from agenda.model import CalendarInfo, Schedule, Session
from agenda.render import links, wording

WIDTH, HEIGHT = 1200, 630
# zlib level of Pillow's PNG encoder. On the palette image (below) level 1 takes
# about 1.5 ms a card; higher levels save little and cost more.
COMPRESS_LEVEL = 1
MARGIN = 72
CONTENT = WIDTH - 2 * MARGIN
BACKGROUND = (11, 46, 79)  # the site's header band, --band
INK = (255, 255, 255)
SOFT_INK = (214, 228, 242)  # 9.9:1 on the background
RULE = (60, 100, 140)
# Each status class's badge background and ink (the light-mode badge pairs of agenda.css, all
# above 4.5:1), then its accent strip; the agenda's card has no badge: confirmed's colours.
COLOURS = {"confirmed": ((229, 243, 233), (30, 107, 58), (92, 184, 120)),
           "held": ((232, 236, 241), (52, 62, 75), (150, 164, 180)),
           "tentative": ((255, 243, 214), (122, 75, 0), (240, 180, 0)),
           "rescheduled": ((241, 233, 250), (91, 42, 134), (178, 140, 220)),
           "cancelled": ((164, 22, 26), (255, 255, 255), (230, 80, 84)),
           "agenda": ((229, 243, 233), (30, 107, 58), (240, 180, 0))}
# The card is drawn in palette indices, not in RGB: one byte a pixel instead of three to filter
# and compress, which makes the PNG about six times faster to encode. Each ink has a ramp of
# STEPS + 1 indices towards the colour it is drawn on, so the anti-aliased edges that Pillow blends
# between two indices land on the blend of the two colours (alpha in steps of 1/84, not 1/255).
STEPS = 84
SOFT, GROUND, TEXT = 0, STEPS, 2 * STEPS  # SOFT_INK … BACKGROUND … INK
BADGE, BADGE_TEXT = 2 * STEPS + 1, 3 * STEPS + 1  # badge background … badge ink
ACCENT, RULE_LINE = 3 * STEPS + 2, 3 * STEPS + 3  # 254 and 255: the last indices


@dataclass(frozen=True, slots=True)
class CardText:
    """Everything a card says, top to bottom."""

    eyebrow: str
    title: str
    lines: tuple[str, ...]
    status: str
    status_class: str
    footer: str
    note: str = ""
    struck: bool = False

    @property
    def alt(self) -> str:
        """The card read aloud: its text in reading order, for og:image:alt."""
        parts = [self.eyebrow, self.title, *self.lines, self.note, self.status]
        return " ".join(wording.sentence(p) for p in parts if p)


@dataclass(frozen=True, slots=True)
class CardImage:
    """Where a card is published and how to describe it, for share tags and JSON-LD."""

    url: str
    alt: str
    width: int = WIDTH
    height: int = HEIGHT


def session_text(calendar: CalendarInfo, session: Session, past: bool) -> CardText:
    """What a session's card says: series and number, city, date and time, status."""
    number = f" · n° {session.number}" if session.number is not None else ""
    if session.start is not None and session.end is not None:
        time = wording.time_range(session.start, session.end, calendar.language)
        zone = wording.zone_label(session.start)
        lines = (wording.long_date(session.start, calendar.language),
                 f"{time}, {zone}" if zone else time)
    else:
        undated = wording.when(session, calendar.language, session.held or past).capitalize()
        lines = () if undated == wording.shown_status(session, past) else (undated,)  # its badge
    former = wording.former_start(session, calendar.language)
    return CardText(
        eyebrow=f"{session.series.title}{number}", title=session.city, lines=lines,
        note=f"Initialement prévue le {former}" if former else "",
        status=wording.shown_status(session, past),
        status_class=wording.status_class(session, past),
        footer=calendar.host, struck=session.is_cancelled)


def agenda_text(schedule: Schedule, past: Collection[str]) -> CardText:
    """What the agenda's card says: its name, and the next session when one is announced."""
    calendar = schedule.calendar
    first = next((s for s in schedule.dated_sessions if s.id not in past and not s.is_cancelled),
                 None)
    clubs = dict.fromkeys(s.club for s in schedule.series if s.club)
    lines: tuple[str, ...] = ("Abonnez-vous à l’agenda pour recevoir les prochaines séances",)
    status = wording.off_label(first) if first else ""  # « Non confirmé » (never cancelled)
    if first is not None:
        assert first.start is not None and first.end is not None
        lines = ("Prochaine séance : "
                 + (f"n° {first.number}, {first.city}" if first.number is not None else first.city),
                 f"{wording.long_date(first.start, calendar.language)}, "
                 f"{wording.clock_time(first.start, calendar.language)}, "
                 f"{wording.zone_label(first.start)}")
    return CardText(
        eyebrow=" · ".join(clubs) or calendar.organizer.name, title=calendar.name, lines=lines,
        status=status, status_class="tentative" if status else "agenda", footer=calendar.host)


def session_image(calendar: CalendarInfo, session: Session, past: bool) -> CardImage:
    """The session card's absolute URL, size and alt text."""
    url = calendar.url(links.session_path(session, ".png"))
    return _image(url, session_text(calendar, session, past))


def agenda_image(schedule: Schedule, past: Collection[str]) -> CardImage:
    """The agenda card's absolute URL, size and alt text."""
    return _image(schedule.calendar.url(links.AGENDA_CARD_PATH), agenda_text(schedule, past))


def _image(url: str, text: CardText) -> CardImage:
    # Named by what it says (?v=): share previews keep an image by its URL for days or weeks.
    return CardImage(f"{url}?v={hashlib.sha256(text.alt.encode()).hexdigest()[:10]}", text.alt)


@functools.cache
def _font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    path = resources.files("agenda") / "fonts" / f"DejaVuSans{'-Bold' if bold else ''}.ttf"
    # The basic layout engine: no dependency on whether libraqm is installed.
    return ImageFont.truetype(str(path), size, layout_engine=ImageFont.Layout.BASIC)


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    words = [w for w in wording.typeset(text).split(" ") if w]  # « 8 h 45 », « n° 3 : » whole
    # Most fit a line: one measure (a line is never narrower than its beginning), not one a word.
    if font.getlength(whole := " ".join(words)) <= width:
        return [whole]
    lines: list[str] = []
    for word in words:
        if lines and font.getlength(f"{lines[-1]} {word}") <= width:
            lines[-1] = f"{lines[-1]} {word}"
            continue
        lines.append(word)
        while font.getlength(lines[-1]) > width:  # a word wider than a line (a long city's
            long = lines.pop()  # name): cut where it fits, after a hyphen if there is one
            fits = bisect_right(range(1, len(long)), width, key=lambda i: font.getlength(long[:i]))
            cut = long.rfind("-", 0, fits) + 1 or max(1, fits)
            lines += [long[:cut], long[cut:]]
    return lines


def _fit(text: str, sizes: tuple[int, ...], max_lines: int,
         bold: bool) -> tuple[ImageFont.FreeTypeFont, list[str]]:
    """The largest of `sizes` at which `text` fits the card's width in `max_lines` lines."""
    for size in sizes:
        font = _font(size, bold)
        lines = _wrap(text, font, CONTENT)
        if len(lines) <= max_lines:  # (every line fits its width: _wrap sees to it)
            return font, lines
    lines = lines[:max_lines]  # too long even at the smallest size: cut the last line, say so
    while font.getlength(lines[-1] + " …") > CONTENT:
        lines[-1] = lines[-1].rsplit(" ", 1)[0] if " " in lines[-1] else lines[-1][:-1]
    return font, [*lines[:-1], lines[-1] + " …"]


@dataclass(frozen=True, slots=True)
class _Line:
    font: ImageFont.FreeTypeFont
    text: str
    y: int
    struck: bool = False
    soft: bool = False


def _layout(text: CardText) -> list[_Line]:
    """The upper block's lines, shrunk until they fit above the rule."""
    for scale in (1.0, 0.9, 0.8, 0.7, 0.6):
        def sizes(*base: int, s: float = scale) -> tuple[int, ...]:
            return tuple(max(20, round(b * s)) for b in base)

        font, lines = _fit(text.eyebrow.upper(), sizes(34, 30, 26), 1, bold=True)
        placed = [_Line(font, lines[0], MARGIN - 8, soft=True)]
        y = MARGIN - 8 + round(64 * scale)
        font, lines = _fit(text.title, sizes(104, 92, 80, 68), 2, bold=True)
        for line in lines:
            placed.append(_Line(font, line, y))
            y += round(font.size * 1.18)
        y += round(18 * scale)
        for line in text.lines:
            font, wrapped = _fit(line, sizes(46, 40, 34), 2, bold=False)
            for part in wrapped:
                placed.append(_Line(font, part, y, struck=text.struck))
                y += round(font.size * 1.3)
        if text.note:
            font, wrapped = _fit(text.note, sizes(32, 28), 1, bold=False)
            placed.append(_Line(font, wrapped[0], y + 6, soft=True))
            y += 6 + round(font.size * 1.3)
        if y <= HEIGHT - MARGIN - 74 - 24:  # 24 px above the rule draw() puts
            break
    return placed


def _ramp(start: tuple[int, int, int], end: tuple[int, int, int]) -> list[tuple[int, ...]]:
    return [tuple(round(a + (b - a) * i / STEPS) for a, b in zip(start, end, strict=True))
            for i in range(STEPS + 1)]


def _palette(status_class: str) -> bytes:
    """The 256 colours of a card, in the order of the indices above."""
    badge, badge_ink, accent = COLOURS[status_class]
    colours = [*_ramp(SOFT_INK, BACKGROUND), *_ramp(BACKGROUND, INK)[1:],
               *_ramp(badge, badge_ink), accent, RULE]
    return bytes(channel for colour in colours for channel in colour)


# Worked out once from the constants above, like them a constant.
PALETTES = {status_class: _palette(status_class) for status_class in COLOURS}


def draw(text: CardText) -> bytes:
    """The card as PNG bytes: 1200×630, 256-colour palette, no metadata."""
    # An "L" image of palette indices: Pillow anti-aliases text on it by blending
    # values, which the ramps turn into colours; putpalette then makes it a "P" image.
    image = Image.new("L", (WIDTH, HEIGHT), GROUND)
    pen = ImageDraw.Draw(image)
    pen.rectangle((0, 0, 18, HEIGHT), fill=ACCENT)

    for line in _layout(text):
        pen.text((MARGIN, line.y), line.text, font=line.font, fill=SOFT if line.soft else TEXT)
        if line.struck:
            box = pen.textbbox((MARGIN, line.y), line.text, font=line.font)
            middle = (box[1] + box[3]) // 2
            pen.line((box[0], middle, box[2], middle), fill=TEXT, width=4)

    bottom = HEIGHT - MARGIN
    pen.line((MARGIN, bottom - 74, WIDTH - MARGIN, bottom - 74), fill=RULE_LINE, width=2)
    if text.status:
        badge_font = _font(32, bold=True)
        label_width = int(badge_font.getlength(text.status))
        pen.rounded_rectangle((MARGIN, bottom - 50, MARGIN + label_width + 48, bottom + 2),
                              radius=26, fill=BADGE)
        pen.text((MARGIN + 24, bottom - 24), text.status, font=badge_font, fill=BADGE_TEXT,
                 anchor="lm")
    pen.text((WIDTH - MARGIN, bottom - 24), text.footer, font=_font(30), fill=SOFT, anchor="rm")
    image.putpalette(PALETTES[text.status_class])

    out = io.BytesIO()
    # No pnginfo, no dpi: Pillow then writes IHDR, PLTE, IDAT and IEND only.
    image.save(out, format="PNG", optimize=False, compress_level=COMPRESS_LEVEL)
    return out.getvalue()


def session_card(schedule: Schedule, session: Session, now: datetime) -> bytes:
    """/events/<id>.png as bytes."""
    return draw(session_text(schedule.calendar, session, session.is_over(now)))


def agenda_card(schedule: Schedule, now: datetime) -> bytes:
    """/card.png as bytes."""
    return draw(agenda_text(schedule, schedule.ended_ids(now)))
