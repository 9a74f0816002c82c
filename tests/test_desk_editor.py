"""The desk as an editor meets it: problems in the form's words and on their input, a draft
behind the file or changed in another tab, a file saved with CRLF, replays, rhythms,
cancelled and held sessions, the draft page's list against the preview's feeds (announcements
to come, sessions without a date, the 15-minute rule, the kind of change ticked), dates past
or too long, and the clock's zone; each test reproduces a defect found by trying the desk so."""

from __future__ import annotations

import time
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import feedparser
import icalendar
import lxml.html
import pytest
from dateutil.relativedelta import relativedelta
from flask import Flask
from flask.testing import FlaskClient

from agenda import create_app
from agenda.loader import load_schedule
from agenda.published import publish as publish_now
from agenda.published import published_path
from tests.test_desk import (
    SECRET,
    add_editor,
    app,  # noqa: F401 (fixture)
    choose,
    login,
    post,
    publish,
    schedule,  # noqa: F401 (fixture)
    token,
)


def problems(body: bytes) -> list[str]:
    """The items of the page's list of problems, whitespace collapsed."""
    items = lxml.html.fromstring(body).xpath("//main//*[@role='alert']//li")
    return [" ".join(li.text_content().split()) for li in items]


def outgoing(page: lxml.html.HtmlElement) -> list[str]:
    """The sessions the draft page lists under « Ce qui sera envoyé »."""
    return [" ".join(h.text_content().split()) for h in page.xpath("//ul[@class='outgoing']//h3")]


def drafting(served: Flask) -> FlaskClient:
    """An editor's client, logged in, with a draft: the Clermont-Ferrand session retitled."""
    client = served.test_client()
    login(client)
    assert post(client, "/desk/seances/clermont-ferrand", {"title": "Titre du brouillon"})[0] \
        == 302
    return client


def add_lille(path: Path, more: str = "") -> None:
    """A 13th session, in Lille, years ahead (`more`: its other lines)."""
    path.write_text(path.read_text(encoding="utf-8") + """
[[sessions]]
id = "lille"
series = "tour-des-villes"
number = 13
city = "Lille"
start = 2099-03-17T08:45:00
end = 2099-03-17T10:15:00
announced = 2021-06-01
""" + more, encoding="utf-8")


def test_desk_names_a_problem_by_the_label_of_its_field_on_every_page(
    app: Flask, schedule: Path  # noqa: F811
) -> None:
    # A hand edit (or a draft carried over) leaves problems the desk lists on the draft page
    # and under a form: the editor reads the form's labels, never the file's keys.
    text = schedule.read_text(encoding="utf-8")
    text = text.replace("number = 2\n", 'number = "deux"\n').replace(
        'city = "Bourges"\n', 'city = "Bourges"\nspeakers = [{ role = "Maire" }]\n').replace(
        'email = "helene.pichon@ceps-oing.org", url', 'email = "helene.pichon", url')
    schedule.write_text(text, encoding="utf-8")
    client = app.test_client()
    login(client)
    listed = problems(client.get("/desk/brouillon").data)
    assert listed == [
        "Réglages de l’agenda, champ « Organisateur › Courriel » : « helene.pichon » n'est pas "
        "une adresse e-mail, comme « nom@example.org »",
        "séance « bourges », champ « Numéro » : doit être un nombre entier, pas un texte "
        "(« deux »)",
        "séance « bourges », champ « Intervenants : n° 1 › Nom » : est obligatoire",
    ]
    # Under a form, the problems of other sessions are said the same way.
    status, page = post(client, "/desk/seances/biarritz", {"video_public": "1"})
    assert status == 422
    assert problems(page.encode())[1:] == listed


def test_desk_lists_nothing_going_out_from_a_draft_behind_the_file_until_carried_over(
    app: Flask, schedule: Path  # noqa: F811
) -> None:
    # A colleague renamed Bourges by hand and it was published; the draft began before. Listed
    # as it is, the draft would "send" Bourges renamed back, which « Publier » never does.
    client = drafting(app)
    schedule.write_text(schedule.read_text(encoding="utf-8").replace(
        'city = "Bourges"', 'city = "Bourges (Cher)"'), encoding="utf-8")
    assert "Bourges (Cher)" in app.test_client().get("/events/bourges").get_data(as_text=True)

    def going_out() -> list[str]:
        return outgoing(lxml.html.fromstring(client.get("/desk/brouillon").data))

    assert going_out() == []
    page = lxml.html.fromstring(client.get("/desk/brouillon").data)
    assert page.xpath("//main//form[@action='/desk/reprendre']//button")[0].text_content() == \
        "Reporter mon brouillon sur le fichier actuel"
    assert client.get("/desk/apercu/events/bourges").status_code == 302, "no preview of it"
    client.post("/desk/reprendre", data={"csrf_token": token(client, "/desk/brouillon")})
    assert going_out() == ["Tour des Villes n° 3 : Clermont-Ferrand"]
    preview = client.get("/desk/apercu/events/bourges").get_data(as_text=True)
    assert "Bourges (Cher)" in preview


def test_desk_keeps_the_line_ends_of_a_file_saved_with_crlf(
    app: Flask, schedule: Path  # noqa: F811
) -> None:
    # A file saved under Windows: the lines the desk adds (a session, a contact, a speaker,
    # a description of several lines) end with CRLF too, not LF among CRLF.
    schedule.write_bytes(schedule.read_bytes().replace(b"\n", b"\r\n"))
    client = app.test_client()
    login(client)
    assert post(client, "/desk/series/tour-des-villes/nouvelle", {
        "id": "lille", "city": "Lille", "number": "13", "start": "2027-03-17T08:45",
        "end": "2027-03-17T10:15", "speakers.0.name": "Martine Aubry",
        "description": "Une ligne\r\net une autre"})[0] == 302
    assert post(client, "/desk/contacts", {"contacts.3.name": "Nouveau Contact"})[0] == 302
    assert post(client, "/desk/series/tour-des-villes", {"club": "Club"})[0] == 302
    assert publish(client) == 302
    raw = schedule.read_bytes()
    assert raw.count(b"\r\n") == raw.count(b"\n") > 90
    loaded = load_schedule(schedule)
    lille = loaded.session("lille")
    assert lille is not None
    assert (lille.description, [s.name for s in lille.speakers]) == (
        "Une ligne\net une autre", ["Martine Aubry"])
    assert [c.name for c in loaded.contacts][-1] == "Nouveau Contact"


def test_desk_shows_a_contacts_problem_under_its_row_with_its_label(
    app: Flask,  # noqa: F811
) -> None:
    client = app.test_client()
    login(client)
    status, body = post(client, "/desk/contacts", {"contacts.1.email": "eva.in-darra.fr"})
    assert status == 422
    page = lxml.html.fromstring(body)
    said = "« eva.in-darra.fr » n'est pas une adresse e-mail, comme « nom@example.org »"
    assert page.get_element_by_id("f-contacts-1-email-erreur").text_content() == said
    link = page.xpath("//main//*[@role='alert']//li/a")
    assert [(a.get("href"), a.text_content()) for a in link] == [
        ("#f-contacts-1-email", f"Contacts presse : n° 2 › Courriel : {said}")]


def test_desk_moving_a_published_session_to_no_date_says_what_to_do_in_the_desk(
    app: Flask,  # noqa: F811
) -> None:
    # An editor empties the date of a session postponed sine die: the history refuses, in
    # the command line's words (« écrivez status = "cancelled" »), not the desk's.
    client = app.test_client()
    login(client)
    status, body = post(client, "/desk/seances/clermont-ferrand/reporter", {"start": "", "end": ""})
    assert status == 422
    said = lxml.html.fromstring(body).get_element_by_id("f-start-erreur").text_content()
    assert said == (
        "les agendas ont déjà cette séance ; elle ne peut pas perdre sa date. Pour l’annuler, "
        "gardez sa date et cliquez sur « Annuler » ; si elle est reportée, donnez sa nouvelle "
        "date (ou marquez-la « À confirmer » à la date prévue).")


def test_desk_publishes_only_what_the_draft_page_showed_going_out(
    app: Flask, schedule: Path  # noqa: F811
) -> None:
    # The draft page lists the new theme; in another tab the editor then renames Bourges.
    # « Publier » on the first page would send Bourges renamed, which the page never showed.
    client = drafting(app)
    shown = lxml.html.fromstring(client.get("/desk/brouillon").data)
    publish_form = shown.xpath("//main//form[@action='/desk/publier']")[0]
    assert post(client, "/desk/seances/bourges", {"city": "Bourges (Cher)"})[0] == 302
    before = schedule.read_bytes()
    refused = client.post("/desk/publier", data=dict(publish_form.form_values()))
    assert refused.status_code == 409
    assert schedule.read_bytes() == before, "nothing written"
    page = lxml.html.fromstring(refused.data)
    assert outgoing(page) == [
        "Tour des Villes n° 2 : Bourges (Cher)", "Tour des Villes n° 3 : Clermont-Ferrand"]
    assert "rien n’a été publié" in page.xpath("//main//p[@role='alert']")[0].text_content()
    again = page.xpath("//main//form[@action='/desk/publier']")[0]
    assert client.post("/desk/publier", data=dict(again.form_values())).status_code == 302
    cities = {s["id"]: s["city"] for s in tomllib.loads(schedule.read_text("utf-8"))["sessions"]}
    assert cities["bourges"] == "Bourges (Cher)"


def test_desk_refuses_a_replay_for_a_session_to_come(
    app: Flask, schedule: Path  # noqa: F811
) -> None:
    # « Ajouter le replay » clicked on the next session instead of the last one: its page
    # would say « Tenue » and journalists get « Replay disponible » before it takes place.
    add_lille(schedule)
    client = app.test_client()
    login(client)
    index = lxml.html.fromstring(client.get("/desk/").data)
    replays = {a.get("href") for a in index.xpath("//main//a") if a.get("href").endswith("/replay")}
    assert replays == {"/desk/seances/biarritz/replay", "/desk/seances/bourges/replay",
                       "/desk/seances/clermont-ferrand/replay"}
    said = ("Cette séance n’a pas encore eu lieu : ajoutez son replay une fois qu’elle est finie "
            "(vous êtes sur la bonne séance ?).")
    for path in ("/desk/seances/lille/replay", "/desk/seances/lille"):
        status, body = post(client, path, {"replay_url": "https://video.example.org/lille"})
        assert status == 422
        error = lxml.html.fromstring(body).get_element_by_id("f-replay_url-erreur")
        assert error.text_content() == said
    assert post(client, "/desk/seances/clermont-ferrand/replay",
                {"replay_url": "https://video.example.org/clermont"})[0] == 302


def test_desk_new_session_takes_the_date_the_series_rhythm_plans_for_its_number(
    app: Flask, schedule: Path  # noqa: F811
) -> None:
    # The third Wednesday of each month: n° 3 on 19 May 2021, so n° 4 is planned on 16 June,
    # not a month later to the day (Saturday 19 June), which would leave the planned date
    # « à annoncer » in calendars and put the session on a Saturday.
    schedule.write_text(schedule.read_text(encoding="utf-8").replace(
        'url = "https://ceps-oing.org/lagenda-des-clubs/"\n',
        'url = "https://ceps-oing.org/lagenda-des-clubs/"\n'
        'rhythm = { rule = "FREQ=MONTHLY;BYDAY=3WE;COUNT=12", first = 2021-03-17, '
        'start = 08:45:00, end = 10:15:00 }\n'), encoding="utf-8")
    client = app.test_client()
    login(client)
    form = lxml.html.fromstring(client.get("/desk/series/tour-des-villes/nouvelle").data)
    values = {name: form.get_element_by_id(f"f-{name}").get("value")
              for name in ("number", "start", "end")}
    assert values == {"number": "4", "start": "2021-06-16T08:45", "end": "2021-06-16T10:15"}


@pytest.mark.parametrize(("written", "said"), [
    ("number = = 3", "séance « clermont-ferrand », ligne 64"),
    # tomllib reads it with int(), whose ValueError is not a TOMLDecodeError
    ("number = " + "3" * 5000, "un nombre a trop de chiffres"),
], ids=["syntax", "huge-number"])
def test_desk_says_in_french_why_a_file_broken_by_hand_cannot_be_changed(
    app: Flask, schedule: Path, written: str, said: str  # noqa: F811
) -> None:
    schedule.write_text(schedule.read_text(encoding="utf-8").replace(
        "number = 3", written), encoding="utf-8")
    client = app.test_client()
    login(client)
    answer = client.get("/desk/")
    assert answer.status_code == 409
    detail = lxml.html.fromstring(answer.data).xpath("//main//code")[0].text_content()
    assert [detail] == problems(client.get("/desk/brouillon").data)
    assert said in detail
    assert client.get("/desk/seances/clermont-ferrand").status_code < 500


def test_desk_contacts_form_shown_again_keeps_each_row_as_typed(
    app: Flask, schedule: Path  # noqa: F811
) -> None:
    # The first contact emptied (to remove it) and a typo in the third's address: the form
    # came back with the rows closed up and the second's address in the third's place, so
    # that saving it again gave Emmanuel Thérond the address of Eva Pilat.
    client = app.test_client()
    login(client)
    emptied = {f"contacts.0.{name}": "" for name in ("name", "organization", "phone", "email")}
    status, body = post(client, "/desk/contacts", {**emptied, "contacts.2.email": "faux"})
    assert status == 422
    page = lxml.html.fromstring(body)
    assert [(page.get_element_by_id(f"f-contacts-{i}-name").get("value"),
             page.get_element_by_id(f"f-contacts-{i}-email").get("value")) for i in range(4)] == [
        ("", ""), ("Eva Pilat", "media@in-darra.fr"), ("Emmanuel Thérond", "faux"), ("", "")]
    assert page.get_element_by_id("f-contacts-2-email-erreur").text_content().startswith(
        "« faux » n'est pas une adresse e-mail")
    fields = dict(page.xpath("//main//form")[0].form_values())
    fields["contacts.2.email"] = "etherond@ville-clermont-ferrand.fr"
    assert client.post("/desk/contacts", data=fields).status_code == 302
    client.post("/desk/publier", data={"csrf_token": token(client, "/desk/brouillon")})
    contacts = tomllib.loads(schedule.read_text(encoding="utf-8"))["contacts"]
    assert [(c["name"], c["email"]) for c in contacts] == [
        ("Eva Pilat", "media@in-darra.fr"),
        ("Emmanuel Thérond", "etherond@ville-clermont-ferrand.fr")]


def test_desk_session_form_shown_again_keeps_each_speaker_as_typed(
    app: Flask,  # noqa: F811
) -> None:
    # The first speaker emptied and a role typed without a name in the row to add one: the
    # error must be on that row, which keeps its role, not on an empty row below another.
    client = app.test_client()
    login(client)
    status, body = post(client, "/desk/seances/clermont-ferrand", {
        "speakers.0.name": "", "speakers.0.role": "", "speakers.1.role": "Adjointe au maire"})
    assert status == 422
    page = lxml.html.fromstring(body)
    rows = [(page.get_element_by_id(f"f-speakers-{i}-name").get("value"),
             page.get_element_by_id(f"f-speakers-{i}-role").get("value")) for i in range(3)]
    assert rows == [("", ""), ("", "Adjointe au maire"), ("", "")]
    assert page.get_element_by_id("f-speakers-1-name-erreur").text_content() == \
        "Ce champ est obligatoire."


def test_desk_shows_a_speakers_problem_under_its_row_and_field(
    app: Flask,  # noqa: F811
) -> None:
    # A control character pasted into the role of the speaker added, the first one emptied:
    # the loader counts that speaker first (speakers[0].role); the form has it second. It was
    # said of « Intervenants » as a whole, without saying which speaker or which field.
    client = app.test_client()
    login(client)
    status, body = post(client, "/desk/seances/clermont-ferrand", {
        "speakers.0.name": "", "speakers.0.role": "", "speakers.1.name": "Isabelle Lavest",
        "speakers.1.role": "Adjointe\x01"})
    assert status == 422
    page = lxml.html.fromstring(body)
    said = "contient un caractère de contrôle : retirez-le"
    assert page.get_element_by_id("f-speakers-1-role-erreur").text_content() == said
    assert problems(body.encode()) == [f"Intervenants : n° 2 › Fonction : {said}"]


def test_desk_move_of_a_cancelled_session_offers_to_hold_it_again(
    app: Flask, schedule: Path  # noqa: F811
) -> None:
    # Called off, then given a new date with « Reporter »: it stayed « Annulé » at the new
    # date, the form offering no way to say it takes place.
    add_lille(schedule, 'status = "cancelled"\n')
    client = app.test_client()
    login(client)
    form = lxml.html.fromstring(client.get("/desk/seances/lille/reporter").data)
    choices = [o.text_content() for o in form.get_element_by_id("f-status").xpath("option")]
    assert "Confirmé" in choices
    assert post(client, "/desk/seances/lille/reporter", {
        "start": "2099-04-21T08:45", "end": "2099-04-21T10:15", "status": "confirmed"})[0] == 302
    assert publish(client) == 302
    lille = load_schedule(schedule).session("lille")
    assert lille is not None
    assert (lille.is_cancelled, lille.start is not None and lille.start.date().isoformat()) == (
        False, "2099-04-21")


def test_desk_draft_page_links_each_problem_to_the_form_that_puts_it_right(
    app: Flask, schedule: Path  # noqa: F811
) -> None:
    schedule.write_text(schedule.read_text(encoding="utf-8").replace(
        "number = 2\n", 'number = "deux"\n').replace(
        'url = "https://ceps-oing.org/lagenda-des-clubs/"', 'url = "ceps-oing.org"'),
        encoding="utf-8")
    client = app.test_client()
    login(client)
    page = lxml.html.fromstring(client.get("/desk/brouillon").data)
    links = page.xpath("//main//*[@role='alert']//li/a")
    assert [(a.get("href"), a.text_content().split(",")[0]) for a in links] == [
        ("/desk/series/tour-des-villes", "série « tour-des-villes »"),
        ("/desk/seances/bourges", "séance « bourges »")]
    for a in links:
        assert client.get(a.get("href")).status_code == 200


def test_desk_tells_journalists_news_as_the_preview_feed_holds_it_before_an_announcement(
    app: Flask, schedule: Path  # noqa: F811
) -> None:
    # A session prepared ahead of its press release (« Annoncée le » to come): the site holds
    # it back from the news feeds until that day. The draft page said journalists got it now
    # and, once moved before that day, a « Nouvelle date » entry the feeds never carry.
    client = app.test_client()
    login(client)

    def said() -> list[str]:
        page = choose(client, "annonce")
        return [" ".join(p.text_content().split()) for p in page.xpath(
            "//ul[@class='outgoing']/li[h3[contains(., 'Lille')]]/p[contains(., 'journalistes')]")]

    def in_preview_feed() -> list[str]:
        feed = feedparser.parse(client.get("/desk/apercu/rss.xml").data)
        return [e.title for e in feed.entries if "Lille" in e.title]

    assert post(client, "/desk/series/tour-des-villes/nouvelle", {
        "id": "lille", "city": "Lille", "start": "2099-03-17T08:45", "end": "2099-03-17T10:15",
        "announced": "2099-01-10"})[0] == 302
    assert in_preview_feed() == []
    assert len(said()) == 1 and "10 janvier 2099" in said()[0], said()
    assert publish(client) == 302
    assert post(client, "/desk/seances/lille/reporter", {
        "start": "2099-03-18T08:45", "end": "2099-03-18T10:15"})[0] == 302
    assert in_preview_feed() == []
    assert len(said()) == 1 and "«" not in said()[0] and "10 janvier 2099" in said()[0], said()


def test_desk_new_session_after_one_long_past_is_prefilled_with_a_date_to_come(
    app: Flask,  # noqa: F811
) -> None:
    # The last session was in May 2021: « a month later » prefilled 19 June 2021, which an
    # editor checking the city and the speakers published as news, dated five years back.
    client = app.test_client()
    login(client)
    form = lxml.html.fromstring(client.get("/desk/series/tour-des-villes/nouvelle").data)
    start, end = (datetime.fromisoformat(form.xpath(f"//input[@name='{name}']")[0].get("value"))
                  for name in ("start", "end"))
    assert start > datetime.now(ZoneInfo("Europe/Paris")).replace(tzinfo=None)
    assert (start.day, start.hour, start.minute, end - start) == (19, 8, 45, timedelta(minutes=90))
    assert start - relativedelta(months=1) <= datetime.now(ZoneInfo("Europe/Paris")).replace(
        tzinfo=None), "the first such day to come, not a later one"


def test_desk_new_session_is_announced_today_in_the_calendars_zone_not_the_servers(
    app: Flask, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    # A server set to another zone (or UTC, from midnight to 1 a.m. in Paris) prefilled
    # « Annoncée le » with its own day: yesterday's, or tomorrow's, which holds the
    # announcement back a day without a word. A zone on the other side of the date line
    # from Paris right now.
    paris = datetime.now(ZoneInfo("Europe/Paris"))
    monkeypatch.setenv("TZ", "Pacific/Kiritimati" if paris.hour >= 11 else "Pacific/Pago_Pago")
    time.tzset()
    try:
        client = app.test_client()
        login(client)
        form = lxml.html.fromstring(client.get("/desk/series/tour-des-villes/nouvelle").data)
        assert form.xpath("//input[@name='announced']")[0].get("value") == \
            datetime.now(ZoneInfo("Europe/Paris")).date().isoformat()
    finally:
        monkeypatch.undo()
        time.tzset()


def test_desk_draft_page_warns_of_a_session_given_a_date_already_past(
    app: Flask,  # noqa: F811
) -> None:
    # A year typed wrong (2024 for 2027): the draft page listed the new session going out to
    # subscribers and journalists as any other, with nothing to catch the editor's eye.
    client = app.test_client()
    login(client)
    assert post(client, "/desk/series/tour-des-villes/nouvelle", {
        "id": "lille", "city": "Lille", "start": "2024-03-13T08:45", "end": "2024-03-13T10:15",
        "announced": "2024-01-10"})[0] == 302
    assert post(client, "/desk/seances/clermont-ferrand/reporter", {
        "start": "2099-05-20T08:45", "end": "2099-05-20T10:15"})[0] == 302
    page = lxml.html.fromstring(client.get("/desk/brouillon").data)
    warned = {" ".join(li.xpath("h3")[0].text_content().split()):
              [p.text_content() for p in li.xpath("p[@class='warning']")]
              for li in page.xpath("//ul[@class='outgoing']/li")}
    assert warned.keys() == {"Tour des Villes n° 3 : Clermont-Ferrand",
                             "Tour des Villes n° 4 : Lille"}
    assert warned["Tour des Villes n° 3 : Clermont-Ferrand"] == []
    assert len(warned["Tour des Villes n° 4 : Lille"]) == 1
    assert "13\xa0mars 2024" in warned["Tour des Villes n° 4 : Lille"][0]


def test_desk_lists_no_calendar_update_for_a_session_calendars_do_not_have(
    app: Flask,  # noqa: F811
) -> None:
    # Bourges took place without a date: no calendar has it. Retitled, the draft page said
    # « mise à jour dans les calendriers (SEQUENCE 0 → 1) » for an entry that is nowhere.
    client = app.test_client()
    login(client)
    assert post(client, "/desk/seances/bourges", {"title": "Bourges, ville de demain"})[0] == 302
    page = lxml.html.fromstring(client.get("/desk/brouillon").data)
    said = [" ".join(p.text_content().split()) for p in page.xpath(
        "//ul[@class='outgoing']/li[h3[contains(., 'Bourges')]]/p[contains(., 'abonnés')]")]
    feed = icalendar.Calendar.from_ical(client.get("/desk/apercu/calendar.ics").data)
    assert [e for e in feed.walk("VEVENT") if "bourges" in str(e.get("URL", ""))] == []
    assert len(said) == 1 and "SEQUENCE" not in said[0] and "pas d" in said[0], said


def test_desk_refuses_a_replay_for_a_session_without_a_date_not_held(
    app: Flask, schedule: Path  # noqa: F811
) -> None:
    # A session whose date is not known yet (« date non communiquée ») had « Ajouter le
    # replay »: given one, its page said « Tenue » before it took place.
    schedule.write_text(schedule.read_text(encoding="utf-8") + """
[[sessions]]
id = "lille"
series = "tour-des-villes"
number = 13
city = "Lille"
""", encoding="utf-8")
    client = app.test_client()
    login(client)
    index = lxml.html.fromstring(client.get("/desk/").data)
    assert index.xpath("//tr[@id='s-lille']//a[contains(@href, '/replay')]") == []
    status, body = post(client, "/desk/seances/lille/replay",
                        {"replay_url": "https://video.example.org/lille"})
    assert status == 422
    assert lxml.html.fromstring(body).get_element_by_id("f-replay_url-erreur").text_content()
    # Ticked « Séance déjà tenue, sans date », it may have its replay.
    assert post(client, "/desk/seances/lille", {"held": "1"})[0] == 302
    assert post(client, "/desk/seances/lille/replay",
                {"replay_url": "https://video.example.org/lille"})[0] == 302
    assert publish(client) == 302
    assert app.test_client().get("/events/lille.json").get_json()["status_label"] == "Tenue"


def test_desk_restores_a_cancelled_session_from_its_row(
    app: Flask, schedule: Path  # noqa: F811
) -> None:
    # A session called off, then held after all: its row lost « Annuler » and offered
    # nothing instead; only « Modifier » › « État » put it back, which nothing said.
    add_lille(schedule)
    client = app.test_client()
    login(client)
    assert post(client, "/desk/seances/lille/annuler", {})[0] == 302
    assert publish(client) == 302

    def actions() -> dict[str, str]:
        row = lxml.html.fromstring(client.get("/desk/").data).get_element_by_id("s-lille")
        return {" ".join(a.text_content().split()): a.get("href") for a in row.xpath(".//a")}

    assert actions()["Rétablir Lille"] == "/desk/seances/lille/retablir"
    assert "Annuler Lille" not in actions()
    assert post(client, "/desk/seances/lille/retablir", {})[0] == 302
    assert publish(client) == 302
    public = app.test_client()
    assert public.get("/events/lille.json").get_json()["status"] == "confirmed"
    event = [e for e in icalendar.Calendar.from_ical(public.get("/calendar.ics").data)
             .walk("VEVENT") if "lille" in str(e.get("URL", ""))]
    assert [str(e["STATUS"]) for e in event] == ["CONFIRMED"]
    assert "Annuler Lille" in actions()


def test_desk_preview_turns_a_correction_into_an_announcement_as_the_draft_page_does(
    schedule: Path,  # noqa: F811
) -> None:
    # « Automatique »: a move less than 15 minutes after the session's publication is a
    # correction, an announcement after. The preview built as a correction was kept for the
    # same text: it showed no « Nouvelle date » while the draft page listed one to go out.
    add_lille(schedule)
    margin = 8  # seconds left of the 15 minutes when the editor starts
    publish_now(schedule, published_path(schedule),
                datetime.now(UTC) - timedelta(minutes=15, seconds=-margin))
    served = create_app({"AGENDA_DATA": str(schedule), "AGENDA_SECRET": SECRET,
                         "TESTING": True, "AGENDA_DESK_SECURE": False})
    add_editor(schedule)
    started = time.monotonic()
    client = served.test_client()
    login(client)
    assert post(client, "/desk/seances/lille/reporter", {
        "start": "2099-03-24T08:45", "end": "2099-03-24T10:15"})[0] == 302

    def moved_in_preview() -> list[str]:
        feed = feedparser.parse(client.get("/desk/apercu/rss.xml").data)
        return [e.title for e in feed.entries if e.title.startswith("Nouvelle date")]

    def listed() -> str:
        return lxml.html.fromstring(client.get("/desk/brouillon").data).xpath(
            "//ul[@class='outgoing']")[0].text_content()

    assert "Nouvelle date" not in listed()
    assert moved_in_preview() == []
    assert time.monotonic() - started < margin, "too slow a machine for this test"
    time.sleep(margin + 1 - (time.monotonic() - started))
    assert "Nouvelle date" in listed()
    assert len(moved_in_preview()) == 1


def test_desk_says_in_which_zone_the_times_of_a_session_are_typed(
    app: Flask,  # noqa: F811
) -> None:
    # The browser's date and time inputs carry no zone: an editor in Montréal typed 08:45
    # for her morning, and the session went out at 08:45 in Paris.
    client = app.test_client()
    login(client)
    for path in ("/desk/series/tour-des-villes/nouvelle",
                 "/desk/seances/clermont-ferrand/reporter"):
        form = lxml.html.fromstring(client.get(path).data)
        for name in ("start", "end"):
            field = form.xpath(f"//input[@name='{name}']")[0]
            said = " ".join(form.get_element_by_id(i).text_content()
                            for i in field.get("aria-describedby").split())
            assert "Heure de Paris" in said, (path, name, said)


def test_desk_names_the_press_contacts_by_their_page_not_the_files_table(
    app: Flask,  # noqa: F811
) -> None:
    # A session naming a press contact that is none said « n'est le nom d'aucun
    # [[contacts]] », the file's syntax, which an editor never sees.
    client = app.test_client()
    login(client)
    status, body = post(client, "/desk/seances/clermont-ferrand", {"contacts": "Eva Pilatt"})
    assert status == 422
    said = lxml.html.fromstring(body).get_element_by_id("f-contacts-erreur").text_content()
    assert "[[" not in said and "« Contacts presse »" in said, said
    assert post(client, "/desk/seances/clermont-ferrand", {"contacts": "Eva Pilat"})[0] == 302
    assert post(client, "/desk/contacts", {f"contacts.1.{name}": "" for name in (
        "name", "organization", "phone", "email")})[0] == 302
    listed = problems(client.get("/desk/brouillon").data)
    assert len(listed) == 1 and "[[" not in listed[0] and "« Contacts presse »" in listed[0]


def test_desk_publishes_the_kind_of_change_chosen_or_shows_it_first(
    app: Flask,  # noqa: F811
) -> None:
    # « C'est une correction » ticked, then « Publier » clicked without « Voir ce
    # qu'envoie… »: the button posted the kind the page was shown with (« Automatique »), and
    # a date typo put right went out to journalists as « Nouvelle date ».
    client = app.test_client()
    login(client)
    assert post(client, "/desk/seances/clermont-ferrand/reporter", {
        "start": "2021-05-20T08:45", "end": "2021-05-20T10:15"})[0] == 302

    def choose_and_publish(mode: str) -> tuple[int, lxml.html.HtmlElement]:
        page = lxml.html.fromstring(client.get("/desk/brouillon").data)
        for radio in page.xpath("//input[@name='mode'][@type='radio']"):
            radio.checked = radio.get("value") == mode
        button = page.xpath("//main//button[normalize-space()='Publier']")[0]
        form = page.get_element_by_id(button.get("form")) if button.get("form") \
            else button.xpath("ancestor::form")[0]
        answer = client.post(form.get("action"), data=dict(form.form_values()))
        return answer.status_code, lxml.html.fromstring(answer.data)

    status, page = choose_and_publish("correction")
    assert status == 409
    assert "Nouvelle date" not in page.xpath("//ul[@class='outgoing']")[0].text_content()
    feed = feedparser.parse(app.test_client().get("/rss.xml").data)
    assert not any(e.title.startswith("Nouvelle date") for e in feed.entries)
    assert choose_and_publish("correction")[0] == 302
    feed = feedparser.parse(app.test_client().get("/rss.xml").data)
    assert not any(e.title.startswith("Nouvelle date") for e in feed.entries)
    event = [e for e in icalendar.Calendar.from_ical(app.test_client().get("/calendar.ics").data)
             .walk("VEVENT") if "clermont-ferrand" in str(e.get("URL", ""))][0]
    assert event.decoded("DTSTART").day == 20


def test_desk_list_of_sessions_says_when_the_draft_cannot_be_published(
    app: Flask,  # noqa: F811
) -> None:
    # A press contact removed while a session names it is saved (the session is put right
    # next); the list of sessions then said « Des modifications attendent d'être publiées »,
    # and only the draft page told that nothing could be.
    client = app.test_client()
    login(client)
    assert post(client, "/desk/seances/clermont-ferrand", {"contacts": "Eva Pilat"})[0] == 302
    assert post(client, "/desk/contacts", {f"contacts.1.{name}": "" for name in (
        "name", "organization", "phone", "email")})[0] == 302
    listed = problems(client.get("/desk/brouillon").data)
    index = lxml.html.fromstring(client.get("/desk/").data)
    said = " ".join(index.xpath("//main")[0].text_content().split())
    # One problem is said in the singular, not « 1 point(s) … Les voir ».
    assert len(listed) == 1 and "tel quel : 1 point à corriger." in said, said
    assert "attendent d’être publiées" not in said
    assert index.xpath("//main//a[normalize-space()='Le voir dans le brouillon']/@href") == \
        ["/desk/brouillon"]


def test_desk_new_session_after_one_written_with_an_offset_by_hand_is_a_form(
    app: Flask, schedule: Path  # noqa: F811
) -> None:
    # A start written with its offset (refused by the loader: the draft page says why) made
    # « Nouvelle séance » compare it with the wall clock: a 500 instead of the form.
    schedule.write_text(schedule.read_text(encoding="utf-8").replace(
        "start = 2021-05-19T08:45:00", "start = 2021-05-19T08:45:00+02:00"), encoding="utf-8")
    client = app.test_client()
    login(client)
    answer = client.get("/desk/series/tour-des-villes/nouvelle")
    assert answer.status_code == 200
    start = lxml.html.fromstring(answer.data).xpath("//input[@name='start']")[0].get("value")
    assert datetime.fromisoformat(start) > datetime.now()


def test_desk_does_not_cancel_a_session_held_already(app: Flask) -> None:  # noqa: F811
    # Bourges took place (« Séance déjà tenue, sans date »): « Annuler » was offered, and its
    # page then said « Annulé » for a session held, and journalists were told so.
    client = app.test_client()
    login(client)
    row = lxml.html.fromstring(client.get("/desk/").data).get_element_by_id("s-bourges")
    assert not any("Annuler" in a.text_content() for a in row.xpath(".//a"))
    status, body = post(client, "/desk/seances/bourges/annuler", {})
    assert status == 422
    assert "déjà eu lieu" in " ".join(problems(body.encode()))
    assert publish(client) == 302
    assert app.test_client().get("/events/bourges.json").get_json()["status"] == "confirmed"


def test_desk_draft_page_warns_of_a_session_lasting_more_than_a_day(
    app: Flask, schedule: Path  # noqa: F811
) -> None:
    # « Reporter » a month earlier with the start alone changed: accepted, the session went
    # out to calendars as a month long, listed as any other.
    add_lille(schedule)
    client = app.test_client()
    login(client)
    assert post(client, "/desk/seances/lille/reporter", {"start": "2099-02-17T08:45"})[0] == 302
    assert post(client, "/desk/seances/clermont-ferrand/reporter", {
        "start": "2099-05-20T08:45", "end": "2099-05-20T10:15"})[0] == 302
    page = lxml.html.fromstring(client.get("/desk/brouillon").data)
    warned = {" ".join(li.xpath("h3")[0].text_content().split()):
              [p.text_content() for p in li.xpath("p[@class='warning']")]
              for li in page.xpath("//ul[@class='outgoing']/li")}
    assert warned["Tour des Villes n° 3 : Clermont-Ferrand"] == []
    assert len(warned["Tour des Villes n° 13 : Lille"]) == 1
    assert "28\xa0jours" in warned["Tour des Villes n° 13 : Lille"][0]


def test_desk_warns_of_a_long_session_across_a_change_of_the_clocks_by_its_elapsed_time(
    app: Flask, schedule: Path  # noqa: F811
) -> None:
    # The warning subtracted wall-clock times: 17 March to 17 April across the change to
    # summer time was « 31 jours 1 h 30 », where the session's page says 31 days 30 minutes.
    add_lille(schedule)
    client = app.test_client()
    login(client)
    start, end = "2099-03-17T08:45", "2099-04-17T10:15"
    assert post(client, "/desk/seances/lille/reporter", {"start": start, "end": end})[0] == 302
    paris = ZoneInfo("Europe/Paris")
    elapsed = (datetime.fromisoformat(end).replace(tzinfo=paris).astimezone(UTC)
               - datetime.fromisoformat(start).replace(tzinfo=paris).astimezone(UTC))
    assert (elapsed.days, elapsed.seconds) == (31, 30 * 60)  # zoneinfo's, not the wall clock's
    page = lxml.html.fromstring(client.get("/desk/brouillon").data)
    (item,) = [li for li in page.xpath("//ul[@class='outgoing']/li")
               if "Lille" in li.xpath("h3")[0].text_content()]
    (warning,) = [p.text_content() for p in item.xpath("p[@class='warning']")]
    assert "31\xa0jours 30\xa0min" in warning, warning


@pytest.mark.parametrize(("zone", "named", "not_named"), [
    ("Africa/Algiers", "Heure d’Alger.", "Algiers"),  # CLDR's French city, with its elision
    ("America/Sao_Paulo", "Heure de São Paulo.", "Sao Paulo"),
    ("Etc/GMT+3", "Heure UTC−3.", "GMT+3"),  # POSIX's sign is the other way round
])
def test_desk_names_the_zone_of_the_times_typed_as_the_pages_do(
    app: Flask, zone: str, named: str, not_named: str  # noqa: F811
) -> None:
    # The note under « Début » and « Fin » read « Heure de Algiers. », « Heure de GMT+3. »:
    # the English city of the IANA id, where the pages say « heure d’Alger », « heure UTC−3 ».
    client = app.test_client()
    login(client)
    assert post(client, "/desk/agenda", {"timezone": zone})[0] == 302
    form = lxml.html.fromstring(client.get("/desk/series/tour-des-villes/nouvelle").data)
    field = form.xpath("//input[@name='start']")[0]
    said = " ".join(form.get_element_by_id(i).text_content()
                    for i in field.get("aria-describedby").split())
    assert named in said and not_named not in said, said
