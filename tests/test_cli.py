"""`agenda check` and `agenda serve` on good and bad files: exit codes and messages."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
from click.testing import CliRunner
from werkzeug.http import http_date, parse_date

from agenda import create_app
from agenda.cli import main
from agenda.i18n import _, catalogue
from agenda.loader import load_schedule
from agenda.published import published_path
from tests.conftest import LYON_OCTOBER, MINIMAL, ROOT, SEVERAL, SHIPPED

BAD = """
[calendar]
name = "Essai"
base_url = "javascript:alert(1)"
organizer = { name = "Club" }

[[series]]
id = "tour"
title = "Tour"

[[sessions]]
id = "lyon"
series = "tour"
city = "Lyon"
strat = 2021-06-16T08:45:00
"""


def test_check_shipped_file_prints_summary(runner: CliRunner) -> None:
    result = runner.invoke(main, ["check", str(SHIPPED)])
    assert result.exit_code == 0
    published = SHIPPED.with_name("sessions.published.json")
    assert result.output.splitlines()[0] == (
        f"{SHIPPED} : correct, séries : 1, séances : 3 (datées : 1), contacts : 3."
    )
    # The shipped folder carries its published version, up to date with the file.
    assert result.output.splitlines()[1].startswith(f"{published} : version 1 (")
    assert result.output.splitlines()[1].endswith("), à jour avec le fichier.")


def test_check_of_a_first_version_without_sessions_ends_no_line_on_a_colon(
        runner: CliRunner, write_schedule) -> None:
    """« la première version prend ses dates dans le fichier : » was its last line, and nothing
    followed: what it would publish is no session, and it says so."""
    result = runner.invoke(main, ["check", str(write_schedule(MINIMAL))])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[-1].startswith("  ") and not lines[-1].endswith(":")
    assert "aucune séance" in lines[-1]


def test_check_bad_file_prints_every_problem_and_exits_1(runner: CliRunner, write_schedule) -> None:
    path = write_schedule(BAD)
    result = runner.invoke(main, ["check", str(path)])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines == [
        f"{path}, [calendar], champ base_url : « javascript:alert(1) » n'est pas une adresse "
        "http ou https, comme « https://example.org/ »",
        f"{path}, séance « lyon », champ strat : clé inconnue ; vouliez-vous dire « start » ?",
        f"{path} : 2 problèmes.",
    ]


def test_check_uses_agenda_data_by_default(runner: CliRunner, write_schedule) -> None:
    path = write_schedule(BAD)
    result = runner.invoke(main, ["check"], env={"AGENDA_DATA": str(path)})
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == f"{path} : 2 problèmes."


def test_check_missing_file_is_a_message(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["check", str(tmp_path / "nope.toml")])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    # In French to the end: the C library's « No such file or directory » was quoted as is.
    assert result.output.splitlines()[0] == f"{tmp_path / 'nope.toml'} : " + french(
        "cannot read the file: {reason}", reason=french("No such file or directory"))


def test_check_warns_of_a_replay_link_before_the_session_took_place(
    runner: CliRunner, write_schedule
) -> None:
    path = write_schedule(MINIMAL + """
[[sessions]]
id = "lyon"
series = "s"
city = "Lyon"
start = 2099-06-16T08:45:00
end = 2099-06-16T10:15:00
announced = 2099-05-01
replay_url = "https://example.org/replay"
""")
    result = runner.invoke(main, ["check", str(path)])
    assert result.exit_code == 0
    assert result.output.splitlines()[1] == (
        f"{path}: séance « lyon », champ replay_url : attention, la séance n’a pas encore eu "
        "lieu (elle se termine plus tard ou n’a pas de date) ; vérifiez le lien, ou écrivez "
        "held = true pour une séance sans date déjà tenue"
    )


def test_serve_refuses_bad_file_without_traceback(runner: CliRunner, write_schedule) -> None:
    path = write_schedule(BAD)
    result = runner.invoke(main, ["serve", "--data", str(path), "--port", "0"])
    assert result.exit_code == 1
    assert "champ strat : clé inconnue" in result.output
    assert result.output.splitlines()[-1] == french(
        "agenda: not starting until the schedule is valid.")


def test_serve_with_a_missing_settings_file_says_so(
    runner: CliRunner, tmp_path: Path
) -> None:
    missing = tmp_path / "gunicorn.conf.py"
    result = runner.invoke(main, ["serve", "--data", str(SHIPPED), "--config", str(missing)])
    assert result.exit_code == 1  # in French: click's usage error said « Error: … does not exist »
    assert result.output == french("agenda: {path} is not a gunicorn settings file",
                                   path=missing) + "\n"


def test_wsgi_refuses_bad_file_without_traceback(write_schedule) -> None:
    path = write_schedule(BAD)
    env = dict(os.environ, AGENDA_DATA=str(path))
    result = subprocess.run(
        [sys.executable, "-c", "import wsgi"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert "champ strat : clé inconnue" in result.stderr
    assert "Traceback" not in result.stderr


def test_help_comes_from_docstrings(runner: CliRunner) -> None:
    result = runner.invoke(main, ["--help"])
    assert result.exit_code == 0
    assert "Publish an event series" in result.output
    assert "check" in result.output and "serve" in result.output


def test_check_says_what_a_change_of_time_zone_moves_on_the_new_clock(tmp_path: Path) -> None:
    # « start 08:45 → 08:45 » said nothing: both times are now read in the new zone.
    runner = CliRunner()
    path = tmp_path / "sessions.toml"
    path.write_bytes(SHIPPED.read_bytes())
    assert runner.invoke(main, ["publish", str(path)]).exit_code == 0
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('"Europe/Paris"', '"Europe/London"'), encoding="utf-8")
    output = runner.invoke(main, ["check", str(path)]).output
    dated = [s for s in load_schedule(path).sessions if s.start and s.end]
    assert dated
    for session in dated:
        start, end = (t.replace(tzinfo=ZoneInfo("Europe/Paris")).astimezone(t.tzinfo)
                      for t in (session.start, session.end))
        assert f"  {session.id} : start {start:%H:%M} → {session.start:%H:%M}, end " \
            f"{end:%H:%M} → {session.end:%H:%M}" in output


def test_publish_then_check_says_what_an_edit_would_change(tmp_path: Path) -> None:
    runner = CliRunner()
    path = tmp_path / "sessions.toml"
    path.write_bytes(SHIPPED.read_bytes())
    first = runner.invoke(main, ["publish", str(path)])
    assert first.exit_code == 0
    published = tmp_path / "sessions.published.json"
    assert first.output.splitlines()[0].startswith(f"{published} : version 1 (")
    assert first.output.splitlines()[0].endswith(") publiée.")
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("T08:45:00", "T09:30:00"), encoding="utf-8")
    check = runner.invoke(main, ["check", str(path)])
    assert check.exit_code == 0
    lines = check.output.splitlines()
    assert lines[1].endswith("est en retard sur le fichier ; publier ferait la version 2 :")
    assert lines[2:] == ["  clermont-ferrand : start 08:45 → 09:30 (SEQUENCE 0 → 1)"]
    again = runner.invoke(main, ["publish", str(path)])
    assert again.exit_code == 0
    assert again.stdout.splitlines()[1:] == lines[2:]
    assert runner.invoke(main, ["check", str(path)]).output.splitlines()[1].endswith(
        "à jour avec le fichier."
    )


def test_publish_says_a_new_history_is_reported_until_confirmed(tmp_path: Path) -> None:
    """The first publication of a folder without history is one /healthz reports (a lost
    history looks the same): publish says so, until --new-history confirms it."""
    runner = CliRunner()
    path = tmp_path / "sessions.toml"
    path.write_bytes(SHIPPED.read_bytes())
    note = french("{path}: a new history, from the file alone; /healthz reports it until "
                  "`agenda publish --new-history` confirms it", path=path.with_suffix(
                      ".published.json"))
    first = runner.invoke(main, ["publish", str(path)])
    assert first.exit_code == 0 and first.stderr == f"{note}\n"
    app = create_app({"AGENDA_DATA": str(path), "TESTING": True})
    assert "--new-history" in app.test_client().get("/healthz").text  # what publish said
    path.write_text(path.read_text("utf-8").replace("T08:45:00", "T09:00:00"), "utf-8")
    assert runner.invoke(main, ["publish", str(path)]).stderr == f"{note}\n"
    confirmed = runner.invoke(main, ["publish", "--new-history", str(path)])
    assert confirmed.exit_code == 0 and note not in confirmed.output
    path.write_text(path.read_text("utf-8").replace("T09:00:00", "T09:15:00"), "utf-8")
    later = runner.invoke(main, ["publish", str(path)])
    assert later.exit_code == 0 and later.stderr == ""
    assert "--new-history" not in create_app(
        {"AGENDA_DATA": str(path), "TESTING": True}).test_client().get("/healthz").text


def shipped_published(tmp_path: Path) -> tuple[CliRunner, Path, str]:
    """A copy of the shipped schedule, published by `agenda publish`; its runner and text."""
    runner = CliRunner()
    path = tmp_path / "sessions.toml"
    text = SHIPPED.read_text(encoding="utf-8")
    path.write_text(text, encoding="utf-8")
    assert runner.invoke(main, ["publish", str(path)]).exit_code == 0
    return runner, path, text


def test_publish_refuses_a_dropped_session_until_withdrawn(tmp_path: Path) -> None:
    runner, path, text = shipped_published(tmp_path)
    start = text.index('[[sessions]]\nid = "bourges"')
    end = text.index('[[sessions]]\nid = "clermont-ferrand"')
    path.write_text(text[:start] + text[end:], encoding="utf-8")
    refused = runner.invoke(main, ["publish", str(path)])
    assert refused.exit_code == 1
    assert refused.output.splitlines() == [
        f"{path}, séance « bourges » : a été publiée et manque au fichier : les abonnés "
        "n'apprendraient jamais qu'elle n'a pas lieu. Pour l'annuler, remettez-la avec "
        "status = \"cancelled\" ; si vous l'avez renommée, rendez-lui son id « bourges » : son "
        "UID d'agenda, son adresse et ses entrées d'actualité en dérivent (un nouvel id ferait "
        "un second événement chez qui l'a ajoutée) ; pour la retirer exprès, lancez "
        "`agenda publish --withdraw bourges`",
        f"{path} : rien n'est publié.",
    ]
    assert runner.invoke(main, ["check", str(path)]).exit_code == 1
    withdrawn = runner.invoke(main, ["publish", str(path), "--withdraw", "bourges"])
    assert withdrawn.exit_code == 0
    assert withdrawn.stdout.splitlines()[1:] == ["  bourges : retirée"]


def test_check_says_to_give_a_renamed_session_its_id_back(tmp_path: Path) -> None:
    runner, path, text = shipped_published(tmp_path)
    uid = icalendar.Calendar.from_ical(create_app({"AGENDA_DATA": str(path), "TESTING": True})
                                       .test_client().get("/calendar.ics").data)
    path.write_text(text.replace('id = "clermont-ferrand"', 'id = "clermont"'), encoding="utf-8")
    checked = runner.invoke(main, ["check", str(path)])
    assert checked.exit_code == 1
    assert "si vous l'avez renommée, rendez-lui son id « clermont-ferrand » : son UID d'agenda" \
        in checked.stderr
    # Given back, nothing changes for subscribers: the same event, the same UID.
    path.write_text(text, encoding="utf-8")
    assert runner.invoke(main, ["check", str(path)]).exit_code == 0
    again = icalendar.Calendar.from_ical(create_app({"AGENDA_DATA": str(path), "TESTING": True})
                                         .test_client().get("/calendar.ics").data)
    assert [str(e["UID"]) for e in again.walk("VEVENT")] == [
        str(e["UID"]) for e in uid.walk("VEVENT")] == ["clermont-ferrand@agenda.ceps-oing.org"]


def test_check_folder_is_a_problem_with_exit_1(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["check", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"{tmp_path} : est un dossier, pas un fichier d'agenda : indiquez le fichier .toml "
        "qu'il contient",
        f"{tmp_path} : 1 problème.",
    ]


def test_serve_folder_is_a_problem_with_exit_1(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["serve", "--data", str(tmp_path), "--port", "0"])
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == french(
        "agenda: not starting until the schedule is valid.")


def french(msgid: str, **values: object) -> str:
    """The catalogue's French text of `msgid` (which must have one), with `values` put in."""
    assert catalogue("fr").get(msgid), f"no French text for {msgid!r}"
    return _(msgid, **values)


def says(msgid: str, line: str) -> bool:
    """Whether `line` is the French text of `msgid`, whatever its placeholders hold."""
    parts = re.split(r"\{\w+\}", french(msgid))
    return re.fullmatch(".+".join(re.escape(part) for part in parts), line) is not None


def test_build_tells_the_operator_in_french(runner: CliRunner, tmp_path: Path) -> None:
    # `agenda build` run by an operator (or cron): a first history, an export, then an edit
    # not published; every line French like the rest of the command, none in English.
    path = tmp_path / "sessions.toml"
    shutil.copyfile(SEVERAL, path)
    first = runner.invoke(main, ["build", "--data", str(path), str(tmp_path / "site")])
    assert first.exit_code == 0, first.output
    assert first.output.splitlines() == [
        french("{path}: no published version yet; publishing {target} starts its history.",
               path=published_path(path), target=path),
        first.output.splitlines()[1],
    ]
    assert says("{path}: {label}, {urls} URLs, {files} files, from {target}.",
                first.output.splitlines()[1])
    path.write_text(path.read_text("utf-8").replace("Le jour où l’on recule l’heure",
                                                    "Le jour d’après"), encoding="utf-8")

    refused = runner.invoke(main, ["build", "--data", str(path), str(tmp_path / "site")])

    assert refused.exit_code == 1
    lines = refused.stderr.splitlines()
    assert says("agenda: {path} differs from {label}, the published version; nothing built. "
                "Not published yet:", lines[0])
    assert lines[-1] == french(
        "Publish it first (agenda publish), or build with agenda build --publish.")
    assert not re.search(r"\b(differs|published|nothing|built|files)\b", refused.output)


@pytest.mark.parametrize("moment", ["demain", "2021-05-17 12:00", "2021-13-01T00:00+02:00"])
def test_a_moment_that_is_none_is_said_in_french_at_build_and_serve(
    runner: CliRunner, tmp_path: Path, moment: str,
) -> None:
    # `agenda build --now` to pin an export, AGENDA_NOW in a unit: a typo, or the offset
    # forgotten, was Python's English at build, and a traceback at the service's start.
    path = tmp_path / "sessions.toml"
    shutil.copyfile(SEVERAL, path)
    told = french("AGENDA_NOW (or --now) is {value!r}, not a moment with its UTC offset such "
                  "as 2021-05-17T12:00:00+02:00", value=moment)
    built = runner.invoke(main, ["build", "--now", moment, "--data", str(path),
                                 str(tmp_path / "site")])
    assert (built.exit_code, built.stderr) == (1, french("agenda: {error}", error=told) + "\n")
    assert not (tmp_path / "site").exists()
    served = runner.invoke(main, ["serve", "--data", str(path), "--port", "0"],
                           env={"AGENDA_NOW": moment})
    assert served.exit_code == 1 and served.exception is not None  # sys.exit, no traceback
    assert served.stderr == french("{error}\nagenda: not starting.", error=told) + "\n"


def test_link_tells_the_operator_in_french(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "sessions.toml"
    path.write_text(SEVERAL.read_text("utf-8").replace(
        'video_url = "https://video.example.org/live/printemps"\nvideo_public = true\n', ""),
        encoding="utf-8")
    env = {"AGENDA_SECRET": "test-secret-0123456789-abcdefghij"}

    made = runner.invoke(main, ["link", "printemps", "--data", str(path)], env=env)
    unknown = runner.invoke(main, ["link", "nulle-part", "--data", str(path)], env=env)
    typo = runner.invoke(main, ["link", "printemps", "--email", "jean", "--data", str(path)],
                         env=env)
    unset = runner.invoke(main, ["link", "printemps", "--data", str(path)],
                          env={"AGENDA_SECRET": ""})

    assert made.exit_code == 0
    assert made.stderr.splitlines() == [french(
        "agenda: note: session '{id}' has no video_url yet; the link will show it once it is "
        "set.", id="printemps")]
    assert says(".ics file: {url}", made.stdout.splitlines()[0])
    assert unknown.exit_code == 1 and unknown.output.splitlines() == [french(
        "agenda: no session '{id}' in {path}; sessions: {known}.", id="nulle-part", path=path,
        known=", ".join(s.id for s in load_schedule(path).sessions))]
    assert typo.exit_code == 1 and typo.output.splitlines() == [french("agenda: {error}", error=(
        french("'{value}' is not an email address, such as 'name@example.org'", value="jean")))]
    assert unset.exit_code == 1 and says("agenda: {error}", unset.output.splitlines()[0])
    assert unset.output.startswith(french("agenda: {error}", error=french(
        "{name} is not set: personal links need a secret key. Set it, in the environment of "
        "this command and of the server, to a long random string such as the output of: "
        "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'", name="AGENDA_SECRET")))


def test_a_published_file_edited_by_hand_is_told_in_french_with_the_way_out(
    runner: CliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "sessions.toml"
    shutil.copyfile(SHIPPED, path)
    published = published_path(path)
    shutil.copyfile(published_path(SHIPPED), published)
    published.write_text(published.read_text("utf-8").replace("Olivier Bianchi", "O. Bianchi"),
                         encoding="utf-8")

    checked = runner.invoke(main, ["check", str(path)])
    served = runner.invoke(main, ["serve", "--data", str(path), "--port", "0"])

    told = french(
        "{path}: not a published version agenda can read ({reason}); put back its last good "
        "copy (git, a backup), or run `agenda publish --new-history` to go on from the schedule "
        "file", path=published,
        reason=french("the schedule text does not match its sha256 (edited by hand?)"))
    assert checked.exit_code == 1 and checked.stderr == f"{told}\n"
    assert served.exit_code == 1
    assert served.stderr == french("{error}\nagenda: not starting.", error=told) + "\n"


def test_build_into_the_current_folder(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `cd site && agenda build .`: the folder is named by its path, not by "." (which has no
    # name to make the temporary folder beside it from).
    path = tmp_path / "sessions.toml"
    shutil.copyfile(SEVERAL, path)
    (tmp_path / "site").mkdir()
    for _time in range(2):  # a new export, then one over the previous (the folder is new)
        monkeypatch.chdir(tmp_path / "site")
        result = runner.invoke(main, ["build", "--publish", "--data", str(path), "."])
        assert result.exit_code == 0, result.output
        assert (tmp_path / "site" / "events" / "automne.html").is_file()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".site")) == []


def test_build_publish_dates_the_export_by_its_publication(runner: CliRunner, tmp_path: Path
                                                           ) -> None:
    # The export was built for the moment read before the publication: every document it
    # changed kept its former Last-Modified (and modification time, nginx's), so that a
    # client revalidating by date got a 304 for it, and for ever from a static host.
    path = tmp_path / "sessions.toml"
    path.write_text(MINIMAL + LYON_OCTOBER.replace("2026-10-21", "2099-10-21"), encoding="utf-8")
    out = tmp_path / "out"
    assert runner.invoke(main, ["build", "--publish", "--data", str(path), str(out)]).exit_code == 0
    before = http_date((out / "events" / "lyon.html").stat().st_mtime)
    path.write_text(path.read_text("utf-8") + 'title = "Un titre"\n', encoding="utf-8")
    result = runner.invoke(main, ["build", "--publish", "--data", str(path), str(out)])
    assert result.exit_code == 0, result.output
    published = json.loads(path.with_name("sessions.published.json").read_bytes())["published"]
    rows = [json.loads(line) for line in (out / "_manifest.jsonl").read_text("utf-8").splitlines()]
    (modified,) = [row[6] for row in rows[1:] if row[0] == "/events/lyon"]
    assert modified == http_date(datetime.fromisoformat(published).replace(microsecond=0)) != before
    assert int((out / "events" / "lyon.html").stat().st_mtime) == parse_date(modified).timestamp()
    # Built from the folder served, whose changes a worker reads (CHANGES): not a host's to serve.
    assert sorted(p.name for p in out.glob("_*")) == [
        "_headers", "_manifest.jsonl", "_nginx", "_parts"]
