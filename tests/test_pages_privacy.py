"""A private video link (video_public = false) appears in no page, JSON or JSON-LD."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from agenda.model import Schedule


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
