"""Shared by the property tests: every route of a schedule, fetched and parsed back.

`check_every_route` asks for each address a schedule has and checks what the
issue 9 rule demands of a schedule that `agenda check` accepts: every route
answers below 500, every output parses with an independent parser, and the
text of the file comes out as it went in.
"""

from __future__ import annotations

import json
from xml.etree import ElementTree

import feedparser
import html5lib
import icalendar
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator, FormatChecker

from agenda.model import Schedule

HTML_ROUTES = ("/", "/embed")
FEED_ROUTES = ("/rss.xml", "/atom.xml")
XHTML = "{http://www.w3.org/1999/xhtml}"


def html_text(body: bytes) -> str:
    """The text of an HTML page as a browser's parser reads it (html5lib), with no parse error."""
    parser = html5lib.HTMLParser()
    tree = parser.parse(body)
    assert parser.errors == []
    return "".join(tree.itertext())


def unbroken(text: str) -> str:
    """`text` with its non-breaking spaces as plain ones."""
    return text.replace("\xa0", " ")


def html_h1(body: bytes) -> str:
    """The text of the page's first <h1>."""
    tree = html5lib.parse(body, namespaceHTMLElements=True)
    heading = tree.find(f".//{XHTML}h1")
    assert heading is not None
    return "".join(heading.itertext())


def check_every_route(client: FlaskClient, schedule: Schedule) -> None:
    """Fetch every address of `schedule` and check status, parsing and text."""
    for path in HTML_ROUTES:
        response = client.get(path, headers={"Accept": "text/html"})
        assert response.status_code == 200, path
        html_text(response.data)
    assert client.get("/healthz").status_code == 200

    calendar = icalendar.Calendar.from_ical(client.get("/calendar.ics").data)
    uids = [str(e["UID"]) for e in calendar.walk("VEVENT")]
    assert len(uids) == len(set(uids)), "a UID served twice"
    # A session's event links to its page; a planned date's (« à annoncer ») does not.
    summaries = {str(e["URL"]).rsplit("/events/", 1)[1]: str(e["SUMMARY"])
                 for e in calendar.walk("VEVENT") if "/events/" in str(e.get("URL", ""))}
    assert set(summaries) == {s.id for s in schedule.sessions if s.is_dated}

    for path in FEED_ROUTES:
        response = client.get(path)
        assert response.status_code == 200, path
        ElementTree.fromstring(response.data)  # well-formed XML 1.0
        parsed = feedparser.parse(response.data)
        assert not parsed.bozo, (path, parsed.get("bozo_exception"))
        for entry in parsed.entries:
            announced = schedule.session(entry.link.rsplit("/", 1)[-1])
            assert announced is not None and announced.city in entry.title

    document = json.loads(client.get("/events.json").data)
    # As the CEPS site checks it (README): the served schema, formats on.
    schema = Draft202012Validator(json.loads(client.get("/schemas/events.json").data),
                                  format_checker=FormatChecker())
    assert [f"{e.json_path}: {e.message}" for e in schema.iter_errors(document)] == []
    assert document["calendar"]["name"] == schedule.calendar.name
    assert document["calendar"]["description"] == schedule.calendar.description
    by_id = {s["id"]: s for s in document["sessions"]}

    for session in schedule.sessions:
        entry = by_id[session.id]
        assert entry["city"] == session.city
        assert entry["title"] == session.title
        assert entry["description"] == session.description
        assert [p["name"] for p in entry["speakers"]] == [p.name for p in session.speakers]
        one = json.loads(client.get(f"/events/{session.id}.json").data)
        assert one == entry

        page = client.get(f"/events/{session.id}", headers={"Accept": "text/html"})
        assert page.status_code == 200, session.id
        # Pages set French punctuation's spaces non-breaking (« 0 : » reads « 0\xa0: »).
        assert unbroken(html_h1(page.data)) == unbroken(session.city)
        if session.title:
            assert unbroken(session.title) in unbroken(html_text(page.data))

        download = client.get(f"/events/{session.id}.ics")
        if not session.is_dated:
            assert download.status_code == 404
            continue
        assert download.status_code == 200, session.id
        (event,) = icalendar.Calendar.from_ical(download.data).walk("VEVENT")
        assert session.city in str(event["SUMMARY"])
        assert str(event["SUMMARY"]) == summaries[session.id]
        if session.title:
            assert session.title in str(event["DESCRIPTION"])
        assert event.decoded("DTSTART") == session.start
        assert event.decoded("DTEND") == session.end
