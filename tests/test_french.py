"""No English reaches a French reader: messages that embed a library's reason (the C library's
strerror, dateutil's, tomllib's) or that are written outside the catalogue.

Each test drives a public entry point (the loader, the CLI runner, the test client) into an
error path and looks for English words in what it prints, with a small list of words that are
not French; with AGENDA_MESSAGES=en, the same paths say no French (their text is a msgid).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import lxml.html
import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from agenda import create_app
from agenda.cli import main
from agenda.errors import ScheduleError
from agenda.format import TABLES
from agenda.loader import load_schedule
from agenda.published import digest_of
from tests.conftest import MINIMAL, ROOT, SEVERAL
from tests.test_desk import add_editor, login

# Words of the libraries' English messages (strerror, dateutil, tomllib, Werkzeug) that are no
# French word: one of them in a French text is a leak.
ENGLISH = {"the", "is", "not", "no", "such", "or", "directory", "file", "denied", "invalid",
           "unknown", "parameter", "expected", "after", "statement", "end", "of", "document",
           "at", "line", "column", "too", "many", "levels", "symbolic", "links", "name", "long",
           "space", "left", "device", "read", "only", "error", "found", "request", "method",
           "allowed", "published", "sessions", "from", "and", "with", "unclosed", "table", "usage",
           "try", "help", "value"}


def english(text: str) -> set[str]:
    """The English words of `text`, outside what is quoted from the file (« … ») and the names
    of files (paths, sessions.published.json)."""
    text = re.sub(r"«[^»]*»|\S*/\S*|\S+\.\S+", " ", text)
    return {w for w in re.findall(r"[A-Za-z]+", text) if w.lower() in ENGLISH}


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ScheduleError) as caught:
        load_schedule(path)
    return [str(p) for p in caught.value.problems]


@pytest.mark.parametrize("name", ["absent.toml", "file.toml/inside.toml", "loop.toml"])
def test_a_file_that_cannot_be_read_says_why_in_french(tmp_path: Path, name: str) -> None:
    (tmp_path / "file.toml").write_text(MINIMAL, encoding="utf-8")
    (tmp_path / "loop.toml").symlink_to("loop.toml")
    (problem,) = problems_of(tmp_path / name)
    assert english(problem) == set(), problem


def test_a_site_folder_not_writable_is_said_in_french(runner: CliRunner, tmp_path: Path) -> None:
    # agenda build, whose site folder cannot be made: the C library's reason was printed.
    path = tmp_path / "sessions.toml"
    shutil.copyfile(SEVERAL, path)
    (tmp_path / "sites").write_text("a file where the site folder goes", encoding="utf-8")
    result = runner.invoke(main, ["build", "--publish", "--data", str(path), str(tmp_path / "o")],
                           env={"AGENDA_SITE": str(tmp_path / "sites" / "x")})
    assert result.exit_code == 1
    last = result.output.splitlines()[-1]
    assert english(last) == set(), last


@pytest.mark.parametrize("rule", ["FREQ=MONTHLY;BYDAY=XX;COUNT=3", "FREQ=MONTHLY;FOO=1;COUNT=3",
                                  "FREQ=MONTHLY;UNTIL=2021-05", "FREQ=WEEKLY;INTERVAL=0;COUNT=3"])
def test_a_rhythm_dateutil_refuses_is_said_in_french(tmp_path: Path, rule: str) -> None:
    path = tmp_path / "sessions.toml"
    rhythm = f'rhythm = {{ rule = "{rule}", first = 2026-03-18, start = 08:45:00, end = 10:15:00 }}'
    path.write_text(MINIMAL.replace('title = "Série"', f'title = "Série"\n{rhythm}'), "utf-8")
    (problem,) = problems_of(path)
    assert "rhythm.rule" in problem and english(problem) == set(), problem


@pytest.mark.parametrize("line", ["number = 3 4", "[sessions", "x = {a = 1", "x = [1,, 2]",
                                  "x = 1979-05-27T07:32:00Z9"])
def test_a_toml_error_is_said_in_french(tmp_path: Path, line: str) -> None:
    path = tmp_path / "sessions.toml"
    path.write_text(MINIMAL + line + "\n", encoding="utf-8")
    (problem,) = problems_of(path)
    assert english(problem) == set(), problem


@pytest.mark.parametrize("command", [["publish", "FOLDER"], ["build", "--data", "FOLDER", "out"],
                                     ["editor", "add", "a@example.org", "--name", "A", "--data",
                                      "FOLDER"], ["editor", "list", "--data", "FOLDER"]])
def test_a_folder_named_as_the_schedule_is_refused_in_french(
    runner: CliRunner, tmp_path: Path, command: list[str]
) -> None:
    # click's own check said « Error: Invalid value for '--data': File '…' is a directory. »
    result = runner.invoke(main, [str(tmp_path) if a == "FOLDER" else a for a in command])
    assert result.exit_code == 1
    assert english(result.output) == set(), result.output


def test_an_export_into_a_file_is_refused_in_french(runner: CliRunner, tmp_path: Path) -> None:
    # click's check said « Error: Invalid value for 'OUTDIR': Directory '…' is a file. »
    path = tmp_path / "sessions.toml"
    shutil.copyfile(SEVERAL, path)
    (tmp_path / "out").write_text("not a folder", encoding="utf-8")
    result = runner.invoke(main, ["build", "--publish", "--data", str(path), str(tmp_path / "out")])
    assert result.exit_code == 1 and english(result.output) == set(), result.output
    assert (tmp_path / "out").read_text(encoding="utf-8") == "not a folder"


def test_two_passwords_that_differ_are_said_in_french(runner: CliRunner, tmp_path: Path) -> None:
    # click's confirmation prompt said « Error: The two entered values do not match. »
    path = tmp_path / "sessions.toml"
    shutil.copyfile(SEVERAL, path)
    typed = "un mot de passe assez long\nun autre, assez long\n" + "un mot de passe long\n" * 2
    result = runner.invoke(main, ["editor", "add", "a@example.org", "--name", "A", "--data",
                                  str(path)], input=typed)
    assert result.exit_code == 0 and english(result.output) == set(), result.output


def test_a_desk_that_cannot_write_its_drafts_says_why_in_french(tmp_path: Path) -> None:
    # The desk showed the OSError's text: « [Errno 20] Not a directory: '…/.drafts/…' ».
    schedule = tmp_path / "sessions.toml"
    shutil.copyfile(SEVERAL, schedule)
    add_editor(schedule)
    client = create_app({"AGENDA_DATA": str(schedule), "AGENDA_SECRET": "x" * 40,
                         "TESTING": True, "AGENDA_DESK_SECURE": False}).test_client()
    login(client)
    page = lxml.html.fromstring(client.get("/desk/seances/printemps").data)
    fields = dict(page.xpath("//main//form")[0].form_values())
    (tmp_path / ".drafts").write_text("pas un dossier", encoding="utf-8")
    answer = client.post("/desk/seances/printemps", data={**fields, "title": "Un titre"})
    said = lxml.html.fromstring(answer.data).xpath("//main")[0].text_content()
    assert answer.status_code == 503 and english(said) == set(), said


def test_the_schedule_files_schema_describes_its_keys_in_french() -> None:
    # What Taplo (VS Code's Even Better TOML) shows an editor on hover was English.
    schema = json.loads((ROOT / "data" / "sessions.schema.json").read_text(encoding="utf-8"))
    keys = {f.name for table in TABLES.values() for f in table.fields} | {"[[sessions]]"}

    def described(node: object) -> list[str]:
        if isinstance(node, dict):
            own = [node["description"]] if isinstance(node.get("description"), str) else []
            return own + [d for value in node.values() for d in described(value)]
        return [d for value in node for d in described(value)] if isinstance(node, list) else []

    texts = [schema["title"], *described(schema)]
    assert len(texts) > 60
    leaks = {t: english(" ".join(w for w in t.split() if w.strip(",.;:") not in keys))
             for t in texts}
    assert {t: w for t, w in leaks.items() if w} == {}


DAMAGES = {"not JSON": lambda d: "{",
           "no key": lambda d: json.dumps({k: v for k, v in d.items() if k != "version"}),
           "a bad time": lambda d: json.dumps(d | {"published": "hier"})}


@pytest.mark.parametrize("damage", DAMAGES)
@pytest.mark.parametrize("name", ["sessions.published.json", ".sessions.published.mark"])
def test_a_published_file_damaged_is_said_in_french(
    runner: CliRunner, tmp_path: Path, damage: str, name: str
) -> None:
    # JSON's, KeyError's and datetime's reasons were quoted: « (Expecting value: line 1 column 1
    # (char 0)) », « ('version') », « (Invalid isoformat string: 'hier') ».
    path = tmp_path / "sessions.toml"
    shutil.copyfile(SEVERAL, path)
    assert runner.invoke(main, ["publish", str(path)]).exit_code == 0
    damaged = DAMAGES[damage](json.loads((tmp_path / name).read_text(encoding="utf-8")))
    (tmp_path / name).write_text(damaged, encoding="utf-8")
    result = runner.invoke(main, ["publish", str(path)])
    assert result.exit_code == 1
    assert english(result.output) == set(), result.output


def test_a_published_text_that_no_longer_loads_is_said_in_french(
    runner: CliRunner, tmp_path: Path
) -> None:
    # Its problems were said of « sessions.toml (as published in sessions.published.json) ».
    path = tmp_path / "sessions.toml"
    shutil.copyfile(SEVERAL, path)
    assert runner.invoke(main, ["publish", str(path)]).exit_code == 0
    document = json.loads((tmp_path / "sessions.published.json").read_text(encoding="utf-8"))
    lines = [*document["schedule"]["lines"], "strat = 1"]  # a key this release refuses
    document["schedule"] = {"lines": lines, "sha256": digest_of("\n".join(lines).encode())}
    (tmp_path / "sessions.published.json").write_text(json.dumps(document), encoding="utf-8")
    result = runner.invoke(main, ["build", "--data", str(path), str(tmp_path / "out")])
    assert result.exit_code == 1 and "strat" in result.output
    assert english(result.output) == set(), result.output


# /healthz's keywords, which monitors match (README); what they introduce is French.
KEYWORDS = re.compile(r"^(ok: serving version|site folder:|pending since|problem:)", re.M)


def test_healthz_says_in_french_what_its_keywords_introduce(client: FlaskClient) -> None:
    body = client.get("/healthz").get_data(as_text=True)
    assert KEYWORDS.match(body) and english(KEYWORDS.sub(" ", body)) == set(), body


# The web layer's 404s and the loader's problems on a contact no [[contacts]] names, in English
# when AGENDA_MESSAGES=en: their French comes from the catalogue, not from the code.
IN_ENGLISH = """
import sys
from pathlib import Path
from agenda import create_app
from agenda.errors import ScheduleError
from agenda.format import TABLES
from agenda.loader import parse_schedule
client = create_app({"AGENDA_DATA": sys.argv[1], "TESTING": True}).test_client()
for url in ("/events/atlantide", "/events/sans-date.ics", "/series/x/rss.xml", "/cities/x/rss.xml",
            "/rss.xml?city=x", "/calendar.ics?series=essais&city=x"):
    print(client.get(url, headers={"Accept": "text/plain"}).get_data(as_text=True), end="")
for name in ("Zoe Martin", "x"):
    named = f'id = "printemps"\\ncontacts = ["{name}"]'
    text = Path(sys.argv[1]).read_text().replace('id = "printemps"', named)
    try:
        parse_schedule(text, "t.toml")
    except ScheduleError as error:
        print(error)
"""


def test_messages_come_from_the_catalogue() -> None:
    env = dict(os.environ, AGENDA_MESSAGES="en")
    said = subprocess.run([sys.executable, "-c", IN_ENGLISH, str(SEVERAL)], env=env,
                          capture_output=True, text=True, timeout=120, check=True).stdout
    assert len(said.splitlines()) == 8, said
    assert re.findall(r"«|»|\b(?:séance|Aucune|Série|Ville|Filtre|connus)\b", said) == [], said
