"""A private video link (video_public = false) appears in no page, JSON or JSON-LD."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator

from agenda import create_app
from agenda.cli import main
from agenda.model import Schedule
from agenda.site import read_site
from tests.conftest import SEVERAL


def every_address(schedule: Schedule) -> list[str]:
    """Every page and document this issue adds, for every session."""
    paths = ["/", "/embed", "/events.json"]
    for session in schedule.sessions:
        paths += [f"/events/{session.id}", f"/events/{session.id}.json"]
    return paths


def test_fixture_has_a_private_link_to_protect(several: Schedule) -> None:
    automne = several.session("automne")
    assert automne.video_public is False
    assert "SECRET" in automne.video_url


@pytest.mark.parametrize("pinned", [None, "2021-01-01T00:00:00+01:00", "2030-01-01T00:00:00+01:00"])
def test_private_video_link_never_leaks(
    several_client: FlaskClient, several: Schedule, pinned: str | None
) -> None:
    several_client.application.config["AGENDA_NOW"] = pinned
    for path in every_address(several):
        response = several_client.get(path)
        assert response.status_code == 200, path
        assert b"SECRET" not in response.data, path
        assert b"private-room" not in response.data, path


def test_public_video_link_is_published(several_client: FlaskClient, several: Schedule) -> None:
    public = several.session("printemps").video_url
    assert public.encode() in several_client.get("/events/printemps").data
    assert public.encode() in several_client.get("/events/printemps.json").data


@pytest.mark.parametrize("written", [
    "video_url = https://meet.example.org/private-room-SECRET",  # no quotes
    'video_url = "https://meet.example.org/private-room-SECRET',  # no closing quote
    'video_url = https://meet.example.org/private-room-SECRET"',  # no opening quote
    "video_url = https://meet.example.org/private-room-SECRET # the room",
    "vidoe_url = https://meet.example.org/private-room-SECRET",  # a typo of its key
    "video-url = https://meet.example.org/private-room-SECRET",
    "visio = https://meet.example.org/private-room-SECRET",
])
def test_a_private_link_written_wrong_is_not_quoted_on_healthz(
    tmp_path: Path, written: str
) -> None:
    # A hand edit breaking the link's line (or its key) waits, unpublished: /healthz (public)
    # says why, naming the line and the key, never quoting the link.
    path = tmp_path / "sessions.toml"
    text = SEVERAL.read_text(encoding="utf-8")
    path.write_text(text, encoding="utf-8")
    client = create_app({"AGENDA_DATA": str(path)}).test_client()
    assert client.get("/healthz").status_code == 200
    line = 'video_url = "https://meet.example.org/private-room-SECRET"'
    path.write_text(text.replace(line, written), encoding="utf-8")
    said = client.get("/healthz").get_data(as_text=True)
    assert f"champ {written.split()[0]}" in said  # the line and the key are named
    assert "private-room" not in said and "SECRET" not in said


def test_the_manifest_static_hosts_serve_holds_no_digest_of_a_private_link(
    tmp_path: Path,
) -> None:
    # `agenda build` exports `_manifest.jsonl`, which Netlify or Cloudflare Pages serve as
    # any file: a key made of the private link would let anyone try guesses of it offline.
    keys = []
    for room in ("private-room-SECRET", "another-room"):
        path = tmp_path / room / "sessions.toml"
        path.parent.mkdir()
        path.write_text(SEVERAL.read_text(encoding="utf-8").replace(
            "private-room-SECRET", room), encoding="utf-8")
        result = CliRunner().invoke(main, ["build", "--publish", "--data", str(path), "--now",
                                           "2021-07-01T12:00:00+02:00", str(path.parent / "out")])
        assert result.exit_code == 0, result.output
        entries = read_site(path.parent / "out").entries.values()
        # Every document of the session, and its city's feeds, are made of it alone.
        keys.append({e.path: e.key for e in entries if "automne" in e.path or "orleans" in e.path})
    assert len(keys[0]) >= 7
    assert keys[0] == keys[1]


def test_a_schedule_linked_to_an_environment_file_shows_no_value_on_healthz(
    tmp_path: Path,
) -> None:
    # Whoever may write the data folder (an editor by SFTP) replaces the schedule with a link
    # to a file the service reads and they cannot: an environment such as
    # /proc/<pid>/environ or a systemd EnvironmentFile. /healthz is public.
    path = tmp_path / "sessions.toml"
    path.write_text(SEVERAL.read_text(encoding="utf-8"), encoding="utf-8")
    client = create_app({"AGENDA_DATA": str(path)}).test_client()
    assert client.get("/healthz").status_code == 200
    environment = tmp_path / "environ"
    environment.write_text("LANG=C.UTF-8\0AGENDA_SECRET=kept-from-editors-0123456789\0",
                           encoding="utf-8")
    path.unlink()
    path.symlink_to(environment)
    said = client.get("/healthz").get_data(as_text=True)
    assert "ligne 1, champ LANG" in said
    assert "kept-from-editors" not in said and "C.UTF-8" not in said


def test_a_change_of_a_private_link_is_not_named_in_the_public_json(tmp_path: Path) -> None:
    # The room moved: calendars get the new SEQUENCE (registered people's .ics share the UID),
    # but the public JSON said "fields": ["video_url"], that a private room had changed.
    path = tmp_path / "sessions.toml"
    text = SEVERAL.read_text(encoding="utf-8")
    path.write_text(text, encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(main, ["publish", "--new-history", str(path)]).exit_code == 0
    path.write_text(text.replace("private-room-SECRET", "another-room").replace(
        "live/printemps", "live/printemps-2"), encoding="utf-8")
    assert runner.invoke(main, ["publish", str(path)]).exit_code == 0
    client = create_app({"AGENDA_DATA": str(path)}).test_client()
    schema = Draft202012Validator(json.loads(client.get("/schemas/events.json").data))
    private, public = (json.loads(client.get(f"/events/{name}.json").data)
                       for name in ("automne", "printemps"))
    for document in (private, public):
        schema.validate(document)
    assert private["changes"][-1]["fields"] and "video_url" not in json.dumps(private["changes"])
    assert "video_url" in public["changes"][-1]["fields"]  # a public link's change is named
    assert private["sequence"] == 1  # its calendar entry was updated all the same
