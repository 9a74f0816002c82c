"""Path forms of the filtered feeds (/series/<id>/…, /cities/<slug>/…) for static hosts."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from lxml import etree

from agenda.render.links import city_slug

NS = {"a": "http://www.w3.org/2005/Atom"}
NAMES = ["calendar.ics", "rss.xml", "atom.xml"]


@pytest.mark.parametrize(
    ("city", "slug"),
    [
        ("Saint-Étienne", "saint-etienne"),
        ("L’Haÿ-les-Roses", "l-hay-les-roses"),
        ("Clermont-Ferrand", "clermont-ferrand"),
        ("Œuilly", "oeuilly"),
        ("Orléans  Centre", "orleans-centre"),
    ],
)
def test_city_slug_plain_ascii(city: str, slug: str) -> None:
    assert city_slug(city) == slug


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


def test_path_form_ignores_query(several_client: FlaskClient) -> None:
    plain = several_client.get("/series/autres/calendar.ics")
    queried = several_client.get("/series/autres/calendar.ics?city=Lille&series=essais")
    assert queried.data == plain.data
