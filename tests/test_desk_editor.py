"""The desk as an editor meets it: problems in the form's words, a draft behind the file,
a file of another line end; each test reproduces a defect found by trying it so."""

from __future__ import annotations

from pathlib import Path

import lxml.html
from flask import Flask

from tests.test_desk import (
    app,  # noqa: F401 (fixture)
    login,
    post,
    schedule,  # noqa: F401 (fixture)
)


def problems(body: bytes) -> list[str]:
    """The items of the page's list of problems, whitespace collapsed."""
    items = lxml.html.fromstring(body).xpath("//main//*[@role='alert']//li")
    return [" ".join(li.text_content().split()) for li in items]


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
