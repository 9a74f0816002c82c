"""Social cards: size, determinism, no metadata, what they say, how they are served and shared.

The PNG is read back chunk by chunk with struct and zlib (the PNG specification);
its pixels are decoded with Pillow, and checked against the colours of the design.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import struct
import subprocess
import sys
import zlib
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import lxml.html
from flask.testing import FlaskClient
from PIL import Image, ImageChops

from agenda import create_app
from agenda.loader import parse_schedule
from agenda.model import Schedule
from agenda.render import cards
from tests.conftest import LYON_OCTOBER, MINIMAL, SHIPPED

SIGNATURE = b"\x89PNG\r\n\x1a\n"
BEFORE_ALL = datetime(2021, 1, 1, tzinfo=UTC)
AFTER_ALL = datetime(2030, 1, 1, tzinfo=UTC)


def plain(text: str) -> str:
    """Text with its non-breaking spaces (inside times, between day and month) as plain ones."""
    return text.replace("\u00a0", " ")


def chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    """(type, data) of every chunk, each CRC checked."""
    assert png[:8] == SIGNATURE
    found, offset = [], 8
    while offset < len(png):
        (length,) = struct.unpack(">I", png[offset:offset + 4])
        kind = png[offset + 4:offset + 8]
        data = png[offset + 8:offset + 8 + length]
        (crc,) = struct.unpack(">I", png[offset + 8 + length:offset + 12 + length])
        assert zlib.crc32(kind + data) == crc, kind
        found.append((kind, data))
        offset += 12 + length
    return found


def size(png: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk."""
    kind, data = chunks(png)[0]
    assert kind == b"IHDR"
    width, height = struct.unpack(">II", data[:8])
    return width, height


def meta(body: bytes) -> dict[str, str]:
    """Every <meta> of a page by property or name."""
    page = lxml.html.fromstring(body)
    return {m.get("property") or m.get("name"): m.get("content") for m in page.xpath("//meta")}


def test_cards_session_card_is_1200_by_630(shipped: Schedule) -> None:
    png = cards.session_card(shipped, shipped.session("clermont-ferrand"), BEFORE_ALL)
    assert size(png) == (1200, 630)


def test_cards_same_schedule_gives_same_bytes(shipped: Schedule, several: Schedule) -> None:
    for schedule in (shipped, several):
        for session in schedule.sessions:
            first = cards.session_card(schedule, session, BEFORE_ALL)
            assert cards.session_card(schedule, session, BEFORE_ALL) == first, session.id
        assert cards.agenda_card(schedule, BEFORE_ALL) == cards.agenda_card(schedule, BEFORE_ALL)


def test_cards_png_has_no_metadata_chunk(several: Schedule) -> None:
    png = cards.session_card(several, several.session("texte-difficile"), BEFORE_ALL)
    kinds = {kind for kind, _ in chunks(png)}
    assert kinds == {b"IHDR", b"PLTE", b"IDAT", b"IEND"}  # no tIME, tEXt, iTXt, eXIf, pHYs


def test_cards_same_bytes_in_another_process(shipped: Schedule) -> None:
    png = cards.session_card(shipped, shipped.session("clermont-ferrand"), BEFORE_ALL)
    script = (
        "import hashlib, sys\n"
        "from datetime import datetime, UTC\n"
        "from agenda.loader import load_schedule\n"
        "from agenda.render import cards\n"
        "s = load_schedule(sys.argv[1])\n"
        "moment = datetime(2021, 1, 1, tzinfo=UTC)\n"
        "png = cards.session_card(s, s.session('clermont-ferrand'), moment)\n"
        "print(hashlib.sha256(png).hexdigest())\n"
    )
    other = subprocess.run([sys.executable, "-c", script, str(SHIPPED)],
                           capture_output=True, text=True, check=True)
    assert other.stdout.strip() == hashlib.sha256(png).hexdigest()


def blend_of(colour: tuple[int, ...], ground: tuple[int, ...], ink: tuple[int, ...]) -> bool:
    """Whether `colour` lies on the way from `ground` to `ink`, to within 2 a channel."""
    widest = max(range(3), key=lambda c: abs(ink[c] - ground[c]))
    share = (colour[widest] - ground[widest]) / (ink[widest] - ground[widest])
    return 0 <= share <= 1 and all(
        abs(colour[c] - (ground[c] + share * (ink[c] - ground[c]))) <= 2 for c in range(3)
    )


def test_cards_decode_to_text_in_the_design_colours(several: Schedule) -> None:
    for session in (several.session("annulee"), several.session("texte-difficile")):
        png = cards.session_card(several, session, BEFORE_ALL)
        with Image.open(io.BytesIO(png)) as image:
            assert (image.format, image.size, image.mode) == ("PNG", (1200, 630), "P")
            pixels = image.convert("RGB")
        text = cards.session_text(several.calendar, session, past=False)
        assert pixels.getpixel((5, 300)) == cards.COLOURS[text.status_class][2]
        # The upper block, right of the accent strip and above the rule: anti-aliased
        # text, every pixel the background, an ink or a blend of the two.
        block = pixels.crop((19, 0, 1200, 470))
        colours = {colour for _, colour in block.getcolors(256 * 256)}
        assert cards.INK in colours and cards.SOFT_INK in colours, session.id
        assert all(blend_of(c, cards.BACKGROUND, cards.INK)
                   or blend_of(c, cards.BACKGROUND, cards.SOFT_INK) for c in colours), session.id
        ground = Image.new("RGB", block.size, cards.BACKGROUND)
        left, top, right, _ = ImageChops.difference(block, ground).getbbox()
        assert cards.MARGIN - 4 <= 19 + left <= cards.MARGIN + 8, session.id
        assert 19 + right <= 1200 - cards.MARGIN + 4 and top < 80, session.id


def test_cards_differ_between_sessions(several: Schedule) -> None:
    pngs = {cards.session_card(several, s, BEFORE_ALL) for s in several.sessions}
    assert len(pngs) == len(several.sessions)


def test_cards_session_text_has_series_number_city_time_zone_and_status(
    shipped: Schedule,
) -> None:
    clermont = shipped.session("clermont-ferrand")
    text = cards.session_text(shipped.calendar, clermont, past=False)
    assert text.eyebrow == f"{clermont.series.title} · n° {clermont.number}"
    assert text.title == clermont.city
    lines = tuple(map(plain, text.lines))
    assert lines == ("mercredi 19 mai 2021", "8 h 45 – 10 h 15, heure de Paris")
    assert text.status == "Confirmé"
    assert plain(text.alt) == (
        "Tour des Villes · n° 3. Clermont-Ferrand. mercredi 19 mai 2021. "
        "8 h 45 – 10 h 15, heure de Paris. Confirmé."
    )


def test_cards_held_and_cancelled_and_rescheduled_say_so(
    shipped: Schedule, several: Schedule
) -> None:
    biarritz = cards.session_text(shipped.calendar, shipped.session("biarritz"), past=True)
    assert (biarritz.lines, biarritz.status) == (("Date non communiquée",), "Tenue")
    cancelled = cards.session_text(several.calendar, several.session("annulee"), past=False)
    assert (cancelled.status, cancelled.struck) == ("Annulé", True)
    moved = cards.session_text(several.calendar, several.session("reportee"), past=False)
    assert moved.status == "Reporté"
    assert plain(moved.note) == "Initialement prévue le mercredi 15 décembre 2021 à 8 h 45"


def test_cards_agenda_card_names_the_next_session_until_it_ends(shipped: Schedule) -> None:
    clermont = shipped.session("clermont-ferrand")
    before = cards.agenda_text(shipped, shipped.ended_ids(clermont.start - timedelta(days=1)))
    after = cards.agenda_text(shipped, shipped.ended_ids(clermont.end))
    assert before.lines[0] == "Prochaine séance : n° 3, Clermont-Ferrand"
    assert plain(before.lines[1]) == "mercredi 19 mai 2021, 8 h 45, heure de Paris"
    assert "Clermont-Ferrand" not in " ".join(after.lines)


def test_cards_served_as_png_with_validators(client: FlaskClient) -> None:
    for path in ("/card.png", "/events/clermont-ferrand.png", "/events/biarritz.png"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.content_type == "image/png"
        assert size(response.data) == (1200, 630)
        again = client.get(path, headers={"If-None-Match": response.headers["ETag"]})
        assert again.status_code == 304


def test_cards_unknown_session_is_404(client: FlaskClient) -> None:
    assert client.get("/events/inconnue.png").status_code == 404


def test_cards_every_page_shares_its_own_card(client: FlaskClient, shipped: Schedule) -> None:
    base = shipped.calendar.base_url
    expected = {"/": f"{base}/card.png"}
    expected |= {f"/events/{s.id}": f"{base}/events/{s.id}.png" for s in shipped.sessions}
    for path, image in expected.items():
        tags = meta(client.get(path).data)
        assert urlsplit(tags["og:image"])._replace(query="").geturl() == image, path
        assert (tags["og:image:width"], tags["og:image:height"]) == ("1200", "630")
        assert tags["og:image:type"] == "image/png"
        assert tags["og:image:alt"]
        assert tags["twitter:card"] == "summary_large_image"
        assert tags["twitter:image"] == tags["og:image"]
        served = client.get(tags["og:image"].removeprefix(base))  # the query names a version
        assert served.status_code == 200 and served.content_type == "image/png"
        assert served.data == client.get(image.removeprefix(base)).data


def test_cards_shared_under_a_new_url_when_they_change(write_schedule) -> None:
    """Share previews (Facebook, LinkedIn, X) keep an image by its URL for days or weeks: a
    session moved showed its former date on every new share. The card's URL changes with
    what it shows, and only then."""
    text = SHIPPED.read_text(encoding="utf-8")
    path = write_schedule(text)
    client = create_app({"AGENDA_DATA": str(path), "AGENDA_NOW": "2021-05-17T12:00:00+02:00",
                         "AGENDA_WATCH": False, "AGENDA_SETTLE": 0}).test_client()

    def shared() -> dict[str, tuple[str, bytes]]:
        found = {}
        for page in ("/", "/events/clermont-ferrand", "/events/biarritz"):
            image = meta(client.get(page).data)["og:image"]
            found[page] = (image, client.get(urlsplit(image).path).data)
        return found

    before = shared()
    path.write_text(text.replace("2021-05-19T", "2021-05-26T"), encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    after = shared()
    for page in ("/", "/events/clermont-ferrand"):  # the new date on both cards
        assert after[page][1] != before[page][1], page
        assert after[page][0] != before[page][0], page
    assert after["/events/biarritz"] == before["/events/biarritz"]


def test_cards_alt_text_says_what_the_card_shows(client: FlaskClient) -> None:
    tags = meta(client.get("/events/clermont-ferrand").data)
    alt = plain(tags["og:image:alt"])
    for words in ("Tour des Villes · n° 3", "Clermont-Ferrand", "8 h 45", "heure de Paris"):
        assert words in alt


def test_cards_keep_a_time_on_one_line() -> None:
    """« 8 h 45 » is joined by non-breaking spaces; the card's wrapping split at any space, so
    that a long line could end in « 8 h » and put « 45 » on the next. Somewhere between a short
    and a long line before it, the time must wrap otherwise than the same words joined by plain
    spaces."""
    def card(line: str) -> bytes:
        return cards.draw(cards.CardText(eyebrow="Essai", title="Lyon", lines=(line,),
                                         status="", status_class="confirmed", footer="essai"))

    apart = [card(f"{'m' * k} 8\u00a0h\u00a045") != card(f"{'m' * k} 8 h 45")
             for k in range(20, 48)]
    assert True in apart
    # French punctuation keeps its word as on the pages, however the text was written.
    fillers = [f"{'m' * k}{'i' * j}" for k in range(20, 48) for j in range(4)]
    assert all(card(f"{f} séance : n° 3") == card(f"{f} séance\u00a0: n°\u00a03") for f in fillers)


def test_cards_keep_a_word_wider_than_the_card_inside_it() -> None:
    """A city's name without spaces (« Saint-Rémy-de-Provence-… »), a long word in a title: the
    wrapping broke lines at spaces only, and such a word ran off the card's right edge, cut by
    the image. Ink now stays within the margins, the word cut at a hyphen or between letters."""
    city = "Saint-Rémy-de-Provence-et-Villeneuve-lès-Avignon-sur-le-Grand-Rhône-Méditerranéen"
    text = MINIMAL.replace('"Essai"', f'"Essai{"x" * 80}"').replace('"Série"', f'"{"S" * 80}"')
    schedule = parse_schedule(text + LYON_OCTOBER.replace('"Lyon"', f'"{city}"'))
    for png in (cards.session_card(schedule, schedule.sessions[0], BEFORE_ALL),
                cards.agenda_card(schedule, BEFORE_ALL)):
        with Image.open(io.BytesIO(png)) as image:
            block = image.convert("RGB").crop((19, 0, 1200, 470))
        _, _, right, _ = ImageChops.difference(
            block, Image.new("RGB", block.size, cards.BACKGROUND)).getbbox()
        assert 19 + right <= 1200 - cards.MARGIN + 4


def test_cards_alt_text_keeps_a_name_s_own_final_punctuation() -> None:
    """A series' title ending in « ? » or « ! » gave « Et demain ?. Lyon. » in og:image:alt."""
    schedule = parse_schedule(MINIMAL.replace('"Série"', '"Et demain ?"') + LYON_OCTOBER)
    alt = cards.session_image(schedule.calendar, schedule.sessions[0], past=False).alt
    assert re.search(r"[.?!…]\.", alt) is None and alt.startswith("Et demain ? Lyon. "), alt
