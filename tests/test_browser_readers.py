"""What visitors see in Chromium (issue 17): after a session, on a phone, from abroad.

Positions are measured from the layout (getBoundingClientRect), never read from the
source order; the visitor's time zone is Playwright's emulated `timezone_id`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page

from agenda import create_app
from agenda.loader import load_schedule
from tests.conftest import MINIMAL
from tests.test_browser_axe import violations
from tests.test_browser_pages import live
from tests.test_readers import LOOSE, READERS

pytestmark = pytest.mark.browser

NOW = "2026-12-05T12:00:00+01:00"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    """The readers fixture, served with the clock pinned to 5 December 2026."""
    with live(create_app({"AGENDA_DATA": str(READERS), "AGENDA_NOW": NOW})) as base:
        yield base


def visit(browser: Browser, address: str, **options: object) -> Page:
    context = browser.new_context(**options)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(address)
    page.wait_for_load_state("load")
    assert errors == []
    return page


def top(page: Page, selector: str) -> float:
    """The top of the first element matching `selector`, in page pixels, from the layout."""
    box = page.locator(selector).first.bounding_box()
    assert box is not None, f"{selector} is not rendered"
    return box["y"]


def test_past_session_page_offers_its_replay_first_and_nothing_to_join(
    browser: Browser, url: str
) -> None:
    schedule = load_schedule(READERS)
    nantes = schedule.session("nantes")
    page = visit(browser, f"{url}/events/nantes", viewport=DESKTOP)
    hrefs = page.locator("main a").evaluate_all("links => links.map(a => a.href)")
    assert nantes.registration_url not in hrefs
    assert not [h for h in hrefs if "calendar.google.com" in h or h.endswith(".ics")]
    assert page.get_by_role("heading", name="Ajouter à mon agenda").count() == 0
    replay = page.locator(f"main a[href='{nantes.replay_url}']")
    assert replay.count() == 1
    assert top(page, f"main a[href='{nantes.replay_url}']") < top(page, ".facts")
    # Over by the clock alone, without a replay: nothing to join either.
    rennes = schedule.session("rennes")
    page = visit(browser, f"{url}/events/rennes", viewport=DESKTOP)
    hrefs = page.locator("main a").evaluate_all("links => links.map(a => a.href)")
    assert rennes.registration_url not in hrefs
    assert page.get_by_role("heading", name="Ajouter à mon agenda").count() == 0


def test_phone_shows_registration_and_calendar_before_the_series(
    browser: Browser, url: str
) -> None:
    page = visit(browser, f"{url}/events/lyon", viewport=PHONE, is_mobile=True)
    register = top(page, "a:text('S’inscrire à la séance')")
    add = top(page, "#ajouter")
    series = top(page, "#serie")
    assert register < series and add < series
    assert top(page, "#presentation") > add
    # On a wide screen the boxes stand beside the session, at its top.
    page = visit(browser, f"{url}/events/lyon", viewport=DESKTOP)
    assert top(page, "#ajouter") < top(page, "#presentation")
    side = page.locator(".session-side").bounding_box()
    facts = page.locator(".facts").bounding_box()
    assert side is not None and facts is not None and side["x"] > facts["x"] + facts["width"]


def test_phone_home_page_subscribe_box_comes_before_past_sessions(
    browser: Browser, url: str
) -> None:
    page = visit(browser, url, viewport=PHONE, is_mobile=True)
    assert top(page, "#a-venir") < top(page, "#abonnement") < top(page, "#passees")


def test_embed_gives_a_cancelled_session_less_room(browser: Browser, url: str) -> None:
    page = visit(browser, f"{url}/embed", viewport={"width": 360, "height": 640})
    cancelled = page.locator("li:has(a[href='/events/tours'])").bounding_box()
    held = page.locator("li:has(a[href='/events/metz'])").bounding_box()
    assert cancelled is not None and held is not None
    assert cancelled["height"] < held["height"]


def visitor_times(page: Page) -> list[str]:
    return page.locator(".visitor-time").all_inner_texts()


def test_visitor_sees_their_own_time_beside_paris_time(browser: Browser, url: str) -> None:
    lyon = load_schedule(READERS).session("lyon")
    zone = ZoneInfo("America/New_York")
    start, end = lyon.start.astimezone(zone), lyon.end.astimezone(zone)

    def clock(moment: datetime) -> str:
        return f"{moment.hour}\u00a0h" + (f"\u00a0{moment.minute:02d}" if moment.minute else "")

    page = visit(browser, f"{url}/events/lyon", timezone_id="America/New_York")
    (shown,) = visitor_times(page)
    # Its zone named in French at that date, as CLDR (the browser's) names it, not the
    # English city of its IANA id.
    named = page.evaluate("""(start) => new Intl.DateTimeFormat("fr-FR", {timeZoneName: "long"})
        .formatToParts(new Date(start)).find((part) => part.type === "timeZoneName").value""",
                          lyon.start.isoformat())
    assert named.startswith("heure ") and f"({named})" in shown
    assert f"{clock(start)}\u00a0– {clock(end)}" in shown
    assert LOOSE.findall(shown) == []  # written as the page writes its own times
    assert "heure de Paris" in page.locator(".facts").inner_text()
    home = visit(browser, url, timezone_id="America/New_York")
    assert len(visitor_times(home)) == 2  # Lyon and Metz; not the cancelled one, not the past
    # In Paris, or without JavaScript, the page shows the calendar's time only.
    assert visitor_times(visit(browser, f"{url}/events/lyon", timezone_id="Europe/Paris")) == []
    assert visitor_times(visit(browser, f"{url}/events/lyon", timezone_id="America/New_York",
                               java_script_enabled=False)) == []
    (london,) = visitor_times(visit(browser, f"{url}/events/lyon", timezone_id="Europe/London"))
    assert "London" not in london and "britannique" in london  # was « Chez vous (London) »


# Paris moves its clocks forward at 2 a.m. during this session; Lagos keeps UTC+1.
ACROSS_THE_CHANGE = MINIMAL + """
[[sessions]]
id = "nuit"
series = "s"
city = "Lyon"
start = 2027-03-28T01:00:00
end = 2027-03-28T03:30:00
announced = 2026-11-01
"""


def test_visitor_whose_clock_parts_from_paris_during_a_session_sees_their_own_end(
    browser: Browser, tmp_path: Path
) -> None:
    # The note compared the offsets at the start only: from Lagos, both read UTC+1 at 1 a.m.,
    # so nothing was said, and « 1 h – 3 h 30, heure de Paris » ends at 2 h 30 in Lagos.
    path = tmp_path / "sessions.toml"
    path.write_text(ACROSS_THE_CHANGE, encoding="utf-8")
    nuit = load_schedule(path).session("nuit")
    assert nuit.start is not None and nuit.end is not None
    lagos = ZoneInfo("Africa/Lagos")
    assert nuit.start.utcoffset() == nuit.start.astimezone(lagos).utcoffset()
    assert nuit.end.utcoffset() != nuit.end.astimezone(lagos).utcoffset()
    end = nuit.end.astimezone(lagos)
    with live(create_app({"AGENDA_DATA": str(path), "AGENDA_NOW": NOW})) as base:
        (shown,) = visitor_times(visit(browser, f"{base}/events/nuit", timezone_id="Africa/Lagos"))
        assert shown.endswith(f"{end.hour}\u00a0h\u00a0{end.minute:02d}"), shown
        # Where the clocks read the same at both ends, still nothing.
        assert visitor_times(visit(browser, f"{base}/events/nuit",
                                   timezone_id="Europe/Berlin")) == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("path", ["/", "/events/lyon", "/events/nantes", "/embed"])
def test_readers_pages_have_no_axe_violation(
    browser: Browser, url: str, path: str, scheme: str
) -> None:
    page = visit(browser, f"{url}{path}", color_scheme=scheme, timezone_id="Asia/Tokyo",
                 viewport=PHONE)
    assert violations(page) == []


def test_screen_reader_hears_the_breadcrumb_without_its_separator(
    browser: Browser, url: str
) -> None:
    """The « › » between its links is drawn by CSS: read out, it made « › Nantes »."""
    page = visit(browser, f"{url}/events/nantes")
    trail = page.get_by_role("navigation", name="Fil d’Ariane")
    names = [item.aria_snapshot() for item in trail.get_by_role("listitem").all()]
    assert names[-1] == "- listitem: Nantes"
    assert "›" not in page.locator("body").aria_snapshot()


@pytest.mark.parametrize("path", ["/", "/embed"])
def test_screen_reader_link_list_tells_apart_links_to_different_places(
    browser: Browser, url: str, path: str
) -> None:
    """A screen reader's list of links showed « S’inscrire » twice (Lyon's, Metz's), and
    « Revoir la matinale » (now « Revoir la séance »): one name, two places. Each name now
    leads to one address."""
    page = visit(browser, f"{url}{path}")
    places: dict[str, set[str]] = {}
    for link in page.get_by_role("link").all():  # named as Chromium names them
        name = link.aria_snapshot().splitlines()[0]
        places.setdefault(name, set()).add(link.get_attribute("href"))
    assert len(places) > 3
    assert {name: hrefs for name, hrefs in places.items() if len(hrefs) > 1} == {}
