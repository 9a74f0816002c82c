"""Path forms of the filtered feeds (/series/<id>/…, /cities/<slug>/…) for static hosts."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import quote

import feedparser
import icalendar
import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from lxml import etree

from agenda import create_app
from agenda.cli import main
from agenda.published import from_json, publish, published_path
from agenda.render.links import city_slug
from agenda.web.serve import LISTED
from tests.conftest import LYON_OCTOBER, MINIMAL, SEVERAL

NS = {"a": "http://www.w3.org/2005/Atom"}
NAMES = ["calendar.ics", "rss.xml", "atom.xml"]


@pytest.mark.parametrize(
    ("city", "slug"),
    [
        ("Saint-Étienne", "saint-etienne"),
        ("L’Haÿ-les-Roses", "l-hay-les-roses"),
        ("Clermont-Ferrand", "clermont-ferrand"),
        ("Œuilly", "oeuilly"),
        ("L\u02bcHaÿ-les-Roses", "l-hay-les-roses"),  # the apostrophe as a letter (ʼ)
        ("Orléans  Centre", "orleans-centre"),
    ],
)
def test_city_slug_plain_ascii(city: str, slug: str) -> None:
    assert city_slug(city) == slug


@pytest.mark.parametrize("typed", ["L’Haÿ-les-Roses", "L'Haÿ-les-Roses", "L\u02bcHaÿ-les-Roses",
                                   "l\u02bbhay les roses"])
def test_a_city_query_with_any_apostrophe_is_the_citys_feed(
    typed: str, several_client: FlaskClient,
) -> None:
    """A keyboard that types the apostrophe as a letter (ʼ, U+02BC, or ʻ) made the name of
    another city, unknown: a 404 for the journalist, and a second city in the file."""
    by_query = several_client.get("/calendar.ics?city=" + quote(typed))
    assert by_query.status_code == 200
    assert by_query.data == several_client.get("/cities/l-hay-les-roses/calendar.ics").data


@pytest.mark.parametrize("name", NAMES)
def test_series_path_same_sessions_as_query(name: str, several_client: FlaskClient) -> None:
    by_path = several_client.get(f"/series/autres/{name}")
    by_query = several_client.get(f"/{name}?series=autres")
    assert by_path.status_code == 200
    assert by_path.headers["Content-Type"] == by_query.headers["Content-Type"]
    # The query form answers with the file of its path form: the very same bytes.
    assert by_path.data == by_query.data
    assert by_path.headers["ETag"] == by_query.headers["ETag"]


@pytest.mark.parametrize("name", ["rss.xml", "atom.xml"])
def test_city_path_feed_links_to_itself(name: str, several_client: FlaskClient) -> None:
    response = several_client.get(f"/cities/saint-etienne/{name}")
    assert response.status_code == 200
    root = etree.fromstring(response.data)
    (link,) = root.xpath("//a:link[@rel='self']", namespaces=NS)
    assert link.get("href") == f"https://agenda.example.org/cities/saint-etienne/{name}"
    title = root.xpath("string(/rss/channel/title | /a:feed/a:title)", namespaces=NS)
    assert title == "Agenda d’essai – Saint-Étienne"


def test_city_path_ics_same_as_query(several_client: FlaskClient) -> None:
    by_path = several_client.get("/cities/saint-etienne/calendar.ics")
    by_query = several_client.get("/calendar.ics?city=Saint-%C3%89tienne")
    assert by_path.status_code == 200
    assert by_path.data == by_query.data


@pytest.mark.parametrize("name", NAMES)
def test_unknown_city_slug_is_french_404(name: str, several_client: FlaskClient) -> None:
    response = several_client.get(f"/cities/paris/{name}")
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert response.get_data(as_text=True) == (
        "404 – Ville inconnue : « paris ». Villes : brest, l-hay-les-roses, lille, nantes, "
        "orleans, saint-etienne, tours.\n")


@pytest.mark.parametrize("name", NAMES)
def test_unknown_or_miscased_series_is_french_404(name: str, several_client: FlaskClient) -> None:
    for series in ("inconnue", "AUTRES"):
        response = several_client.get(f"/series/{series}/{name}")
        assert response.status_code == 404
        assert response.get_data(as_text=True) == (
            f"404 – Série inconnue : « {series} ». Séries : essais, autres.\n")


@pytest.mark.parametrize("url", [
    "/events.json?city=Lille", "/events.json?series=autres", "/?series=autres", "/embed?city=Lille",
    "/events/printemps.ics?series=autres", "/events/printemps.json?city=Lille",
    "/series/autres/calendar.ics?city=Lille", "/cities/lille/rss.xml?series=essais",
    "/calendar.ics?series=essais&series=autres", "/atom.xml?city=Lille&city=Brest",
    "/rss.xml?series=autres&city=Lille",
])
def test_filter_not_applied_is_404(url: str, several_client: FlaskClient) -> None:
    """A filter the answer would not apply is refused with why, never answered with every
    session: the CEPS site asking /events.json?city=Lille listed all of them as Lille's."""
    response = several_client.get(url)
    assert response.status_code == 404
    assert response.get_data(as_text=True).startswith("404 – Filtre impossible : un seul,")


def test_a_filter_named_in_capitals_is_the_filter(several_client: FlaskClient) -> None:
    """?City=Lille (a form's field named as its label, a link typed by hand) was ignored: the
    app answered every session, where nginx, which reads a query's names in any case, answered
    Lille's; ?CITY=Nulle the whole calendar, not a 404."""
    for url, plain in (("/calendar.ics?City=Lille", "/cities/lille/calendar.ics"),
                       ("/rss.xml?SERIES=autres", "/series/autres/rss.xml")):
        assert several_client.get(url).data == several_client.get(plain).data
    unknown = several_client.get("/atom.xml?CITY=Nulle", headers={"Accept": "text/plain"})
    assert unknown.status_code == 404  # quoted as typed, with the cities' names
    assert unknown.get_data(as_text=True).startswith("404 – Ville inconnue : « Nulle ». Villes : "
                                                     "Brest, L’Haÿ-les-Roses, Lille,")


def test_empty_filter_is_no_filter(several_client: FlaskClient) -> None:
    """An empty field of a form (?series=essais&city=) filters nothing; one said twice, once."""
    for url, plain in (("/rss.xml?series=essais&city=", "/series/essais/rss.xml"),
                       ("/calendar.ics?city=&city=Lille", "/cities/lille/calendar.ics"),
                       ("/atom.xml?series=autres&series=autres", "/series/autres/atom.xml"),
                       ("/events.json?series=", "/events.json"), ("/?city=%20", "/")):
        response = several_client.get(url)
        assert response.status_code == 200
        assert response.data == several_client.get(plain).data


def test_feeds_of_a_city_or_series_gone_stay_empty(
    write_schedule: Callable[..., Path], runner: CliRunner,
) -> None:
    """Nantes loses its one session (withdrawn) and the series « autres » its id: their
    subscribers get feeds without events, which their apps follow, not a 404, at which they
    would keep the events for ever."""
    raw = SEVERAL.read_text(encoding="utf-8")
    path = write_schedule(raw)
    assert runner.invoke(main, ["publish", str(path)]).exit_code == 0
    start, end = raw.index('[[sessions]]\nid = "provisoire"'), raw.index('[[sessions]]\nid = "sans')
    path.write_text((raw[:start] + raw[end:]).replace('"autres"', '"rencontres"'), "utf-8")
    published = runner.invoke(main, ["publish", "--withdraw", "provisoire", str(path)])
    assert published.exit_code == 0, published.output
    client = create_app({"AGENDA_DATA": str(path), "TESTING": True}).test_client()
    for url, title in (("/calendar.ics?city=Nantes", "Agenda d’essai – Nantes"),
                       ("/series/autres/calendar.ics", "Agenda d’essai – Autres rencontres")):
        calendar = icalendar.Calendar.from_ical(client.get(url).data)
        assert calendar.walk("VEVENT") == [] and str(calendar["X-WR-CALNAME"]) == title
    for url in ("/cities/nantes/rss.xml", "/atom.xml?series=autres"):
        feed = feedparser.parse(client.get(url).data)
        assert not feed.bozo and feed.entries == [] and feed.feed.title.startswith("Agenda d’")
    # The series under its new id has the session left.
    assert len(icalendar.Calendar.from_ical(
        client.get("/series/rencontres/calendar.ics").data).walk("VEVENT")) == 1
    # A session in Nantes again: its feed has it, and Nantes is no longer a city gone.
    path.write_text(path.read_text("utf-8").replace('city = "Lille"', 'city = "Nantes"'), "utf-8")
    assert runner.invoke(main, ["publish", str(path)]).exit_code == 0
    client = create_app({"AGENDA_DATA": str(path), "TESTING": True}).test_client()
    assert len(icalendar.Calendar.from_ical(
        client.get("/cities/nantes/calendar.ics").data).walk("VEVENT")) == 1
    _, history = from_json(published_path(path).read_bytes(), "here")
    assert history.gone_cities == ("Lille",), history.gone_cities


@pytest.mark.parametrize("url", [
    "/events/{}", "/events/{}.ics", "/series/{}/calendar.ics", "/cities/{}/rss.xml",
    "/calendar.ics?city={}", "/rss.xml?series={}",
])
@pytest.mark.parametrize("written", [
    "Écrivez à inscription@mairie-piege.fr", "appelez le 01 23 45 67 89 : www.piege.example",
    "Fermé. Voir piege.example/matinale",
])
def test_a_404_never_quotes_a_sentence_from_the_link(
    several_client: FlaskClient, url: str, written: str,
) -> None:
    # A link's author chooses what follows our address: a 404 that quoted it would say their
    # words (an address, a site) on the CEPS's own page. Names are quoted, sentences are not.
    for accept in ("text/html", "*/*"):
        response = several_client.get(url.format(quote(written)), headers={"Accept": accept})
        assert response.status_code == 404
        said = response.get_data(as_text=True)
        for word in ("@", "piege", "01 23"):
            assert word not in said, (url, accept)
    named = several_client.get(url.format(quote("Clermont-Ferrand")))
    assert "Clermont-Ferrand" in named.get_data(as_text=True) or "clermont-ferrand" in \
        named.get_data(as_text=True).lower()


def test_unknown_names_of_an_empty_schedule_are_said_to_be_none(write_schedule) -> None:
    """A schedule without a city (or series) listed them as « Villes : . » in its 404s."""
    without_series = MINIMAL.partition("[[series]]")[0]
    client = create_app({"AGENDA_DATA": str(write_schedule(without_series)),
                         "TESTING": True}).test_client()
    for url in ("/cities/paris/rss.xml", "/calendar.ics?city=Paris", "/series/s/atom.xml",
                "/calendar.ics?series=s"):
        response = client.get(url)
        text = response.get_data(as_text=True)
        assert response.status_code == 404, url
        assert re.search(r":\s*[.,;]", text) is None and text.endswith(" : aucune.\n"), text


def _many_names(write_schedule) -> FlaskClient:
    """The app of one more series and city than a 404 lists (series s0…, cities ville-0…)."""
    many = LISTED + 1
    text = MINIMAL.replace('id = "s"\n', 'id = "s0"\n') + "".join(
        f'[[series]]\nid = "s{n}"\ntitle = "Série {n}"\n' for n in range(1, many)) + "".join(
        LYON_OCTOBER.replace('"lyon"', f'"v{n}"').replace('"Lyon"', f'"Ville {n}"')
        .replace('"s"', f'"s{n}"') for n in range(many))
    return create_app({"AGENDA_DATA": str(write_schedule(text)), "TESTING": True}).test_client()


def test_a_404_lists_the_names_of_a_few_cities_or_series_not_of_thousands(write_schedule) -> None:
    """Every unknown city's 404 listed every city: 10,000 of them made each 404 a page of
    150 KB, and had every city's name made into a slug again for each of them."""
    client = _many_names(write_schedule)
    assert client.get("/cities/ville-7/rss.xml").status_code == 200
    for url in ("/cities/paris/rss.xml", "/calendar.ics?city=Paris", "/series/x/atom.xml"):
        response = client.get(url, headers={"Accept": "text/plain"})
        said = response.get_data(as_text=True)
        assert response.status_code == 404 and len(said) < 200, url
        assert "ville-7" not in said and "Ville 7" not in said and "s7" not in said, said


def test_an_unknown_city_or_series_among_many_is_still_named(write_schedule) -> None:
    """Past 30 cities (two and a half years of a monthly series), a journalist who typed
    ?city=Pari got the bare « page introuvable »: what was wrong, the city, was no longer said.
    It is, with how many there are and where they are, without listing them."""
    client = _many_names(write_schedule)
    for url, said in (("/calendar.ics?city=Pari", "Ville inconnue : « Pari »"),
                      ("/cities/pari/rss.xml", "Ville inconnue : « pari »"),
                      ("/series/x/atom.xml", "Série inconnue : « x »"),
                      ("/rss.xml?series=x", "Série inconnue : « x »")):
        response = client.get(url, headers={"Accept": "text/plain"})
        text = " ".join(response.get_data(as_text=True).split())
        assert response.status_code == 404 and said in text and f"{LISTED + 1}" in text, (url, text)
    assert client.get("/cities/ville-7/nothing.xml").status_code == 404


def test_a_city_typed_on_a_mac_is_one_city_with_the_same_name_typed_elsewhere(
    write_schedule: Callable[..., Path], runner: CliRunner,
) -> None:
    """A Mac (or a name pasted from a file's name) writes « É » as E and a combining accent
    (NFD). `agenda check` refused it beside the same name typed elsewhere, quoting two names that
    look the same, and alone it went decomposed into every document: a search for « Évry » in a
    feed reader or in the CEPS site's JSON missed it, and the social card drew the accent apart."""
    city = "Évry-Courcouronnes"
    decomposed = unicodedata.normalize("NFD", city)
    path = write_schedule(MINIMAL + LYON_OCTOBER.replace('"Lyon"', f'"{decomposed}"')
                          + LYON_OCTOBER.replace('"lyon"', '"evry"').replace('"Lyon"', f'"{city}"'))
    published = runner.invoke(main, ["publish", str(path)])
    assert published.exit_code == 0, published.output
    client = create_app({"AGENDA_DATA": str(path), "TESTING": True}).test_client()
    calendar = icalendar.Calendar.from_ical(client.get("/cities/evry-courcouronnes/calendar.ics")
                                            .data)
    texts = [str(calendar["X-WR-CALNAME"])] + [str(e["SUMMARY"]) for e in calendar.walk("VEVENT")]
    assert len(texts) == 3
    feed = feedparser.parse(client.get("/cities/evry-courcouronnes/atom.xml").data)
    texts += [feed.feed.title, *(e.title for e in feed.entries)]
    texts += [e["city"] for e in client.get("/events.json").get_json()["sessions"]]
    assert all(city in text and unicodedata.is_normalized("NFC", text) for text in texts), texts


def test_an_unknown_citys_404_lists_the_cities_in_french_order(write_schedule) -> None:
    """« Villes : Amiens, Lyon, Évry-Courcouronnes, Œuilly »: the names by code point put every
    city starting with an accent or a ligature after Z, where a reader does not look."""
    cities = ["Œuilly", "Lyon", "Évry-Courcouronnes", "Amiens"]
    text = MINIMAL + "".join(LYON_OCTOBER.replace('"lyon"', f'"v{n}"')
                             .replace('"Lyon"', f'"{city}"') for n, city in enumerate(cities))
    client = create_app({"AGENDA_DATA": str(write_schedule(text)), "TESTING": True}).test_client()
    response = client.get("/calendar.ics?city=Paris", headers={"Accept": "text/plain"})
    said = response.get_data(as_text=True)
    assert said.split(" Villes : ")[1] == "Amiens, Évry-Courcouronnes, Lyon, Œuilly.\n"


def test_a_citys_spelling_corrected_keeps_its_feed_under_the_new_spelling(
    write_schedule: Callable[..., Path],
) -> None:
    """L'Haÿ-les-Roses corrected to L’Haÿ-les-Roses (the same address): its subscribers keep
    one feed, named as it is now, dated by the correction (revalidating by date gets it)."""
    path = write_schedule(MINIMAL + LYON_OCTOBER.replace('"Lyon"', '"L\'Haÿ-les-Roses"'))
    assert publish(path, published_path(path), datetime(2026, 10, 2, tzinfo=UTC)).written
    path.write_text(path.read_text("utf-8").replace("'", "’"), "utf-8")
    corrected = datetime(2026, 10, 3, tzinfo=UTC)
    assert publish(path, published_path(path), corrected).written
    client = create_app({"AGENDA_DATA": str(path), "AGENDA_NOW": corrected, "TESTING": True}
                        ).test_client()
    answer = client.get("/cities/l-hay-les-roses/calendar.ics")
    assert parsedate_to_datetime(answer.headers["Last-Modified"]) == corrected
    calendar = icalendar.Calendar.from_ical(answer.data)
    assert str(calendar["X-WR-CALNAME"]) == "Essai – L’Haÿ-les-Roses"
    assert [str(e["SUMMARY"]) for e in calendar.walk("VEVENT")] == ["Série : L’Haÿ-les-Roses"]


def test_an_unknown_city_with_its_region_in_brackets_is_named_in_the_404(write_schedule) -> None:
    """?city=Saint-Denis (Réunion), near « Saint-Denis (La Réunion) »: the 404 said only « page
    introuvable », as for a sentence, where any other unknown city gets the list of cities."""
    text = MINIMAL + LYON_OCTOBER.replace('"Lyon"', '"Saint-Denis (La Réunion)"')
    client = create_app({"AGENDA_DATA": str(write_schedule(text)), "TESTING": True}).test_client()
    response = client.get("/calendar.ics?city=" + quote("Saint-Denis (Réunion)"),
                          headers={"Accept": "text/plain"})
    assert response.status_code == 404
    assert response.get_data(as_text=True) == ("404 – Ville inconnue : « Saint-Denis (Réunion) ». "
                                                "Villes : Saint-Denis (La Réunion).\n")
