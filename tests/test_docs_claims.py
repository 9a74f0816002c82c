"""The written words against the program: the README, the editors' guide, deploy/ and the
French messages name only commands, options and settings that exist, and every setting the
code reads is documented, so that docs and program cannot drift apart unseen."""

from __future__ import annotations

import html
import json
import re
import shlex
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from agenda import create_app
from agenda.cli import main

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", ROOT / "docs" / "guide-edition.md", ROOT / "deploy" / "agenda.service",
        *sorted((ROOT / "deploy" / "nginx").glob("*.conf")),
        ROOT / "src" / "agenda" / "locales" / "fr" / "LC_MESSAGES" / "messages.po",
        *sorted((ROOT / "src" / "agenda" / "desk" / "templates").rglob("*.html"))]
# `agenda` run as a command (at a line's start, after a space, a backtick, `(` or a path to it)
# and what follows it up to the end of the code or sentence.
COMMAND = re.compile(r"(?:^|[\s`(/])agenda ((?:check|publish|build|serve|link|editor)(?![\w,])"
                     r"[^`\n#;)|»\"]*)")


def _quoted_commands() -> list[tuple[str, str]]:
    """Every `agenda SUBCOMMAND …` the docs tell someone to type, with the file it is in."""
    found = []
    for path in DOCS:
        for match in COMMAND.finditer(path.read_text(encoding="utf-8")):
            found.append((path.name, match.group(1).strip().rstrip(".,:")))
    return found


def _resolve(words: list[str]) -> tuple[click.Command, list[str]]:
    """The click command the words name (through groups), and the words after it."""
    command: click.Command = main
    while isinstance(command, click.Group) and words and not words[0].startswith("-"):
        assert words[0] in command.commands, f"no command « {words[0]} » in {command.name}"
        command, words = command.commands[words[0]], words[1:]
    return command, words


QUOTED = _quoted_commands()


def test_docs_quote_commands_at_all() -> None:
    """The pattern finds the commands the README and the guide are known to quote."""
    assert {"check", "publish", "build", "serve", "link", "editor"} == {
        text.split()[0] for _, text in QUOTED}


@pytest.mark.parametrize(("where", "text"), QUOTED, ids=[f"{w}:{t}" for w, t in QUOTED])
def test_docs_quoted_command_and_options_exist(where: str, text: str) -> None:
    """Each quoted `agenda …` names a real (sub)command, and each --option is one of its."""
    words = shlex.split(text.replace("’", "'").replace("…", ""), posix=True)
    command, rest = _resolve(words)
    names = {name for param in command.params for name in param.opts + param.secondary_opts}
    for word in rest:
        if word.startswith("--"):
            assert word.split("=")[0] in names, f"{where}: « agenda {text} »: no {word}"


def _read_variables() -> set[str]:
    """Every environment variable the program reads (os.environ.get / os.environ[...])."""
    pattern = re.compile(r"os\.environ(?:\.get\(|\[)\s*\"([A-Z_]+)\"")
    return {name for path in (ROOT / "src" / "agenda").rglob("*.py")
            for name in pattern.findall(path.read_text(encoding="utf-8"))}


def test_every_variable_the_program_reads_is_in_the_readme() -> None:
    """An operator learns of every setting from the README, not from the code."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    variables = _read_variables()
    assert {"AGENDA_DATA", "AGENDA_BIND", "WEB_CONCURRENCY"} <= variables
    assert sorted(name for name in variables if f"`{name}" not in readme
                  and f"${name}" not in readme) == []


def test_every_variable_the_docs_name_is_read() -> None:
    """No setting in the docs that the program ignores (a renamed or removed one)."""
    named = {name for path in DOCS
             for name in re.findall(r"\bAGENDA_[A-Z]+(?:_[A-Z]+)*\b", path.read_text("utf-8"))}
    test_only = {"AGENDA_SCREENSHOTS"}  # read by the browser tests that draw the guide's images
    assert sorted(named - _read_variables() - test_only) == []


def test_no_doc_nor_message_runs_a_python_debian_lacks() -> None:
    """Debian 12 has `python3` and no `python`: a command copied from a message must run."""
    bare = re.compile(r"(?<![\w/.-])python -[cm] ")
    assert [(path.name, line) for path in DOCS for line in path.read_text("utf-8").splitlines()
            if bare.search(line)] == []


def test_docs_point_to_sections_and_files_that_exist() -> None:
    """« see *Planned dates* » names a heading (or a paragraph's bold lead) of the same file;
    a path in its prose names a file of the repository, not one beside the checkout."""
    missing = []
    for path in DOCS[:2]:
        raw = path.read_text("utf-8")
        text = " ".join(raw.split())
        titles = re.findall(r"^#+ (.*)$|^\*\*([^*]+)\*\*", raw, re.M)
        headings = {" ".join(h.split()).rstrip(".") for pair in titles for h in pair if h}
        for name in re.findall(r"\b(?:see|voir) (?:\*([^*]+)\*|« ([^»]+) »)", text):
            if "".join(name).strip() not in headings:
                missing.append((path.name, "".join(name)))
        prose = " ".join(re.sub(r"^```.*?^```", "", raw, flags=re.M | re.S).split())
        for name in re.findall(r"(?<![\w/.$-])((?:\.\./)+[\w./-]+|(?:src|deploy|docs|scripts|tests"
                               r"|bench)/[\w./*-]*)", prose):
            found = list(path.parent.glob(name.rstrip("."))) if name.startswith("..") \
                else list(ROOT.glob(name.rstrip(".")))
            if not found or any(ROOT not in f.resolve().parents for f in found):
                missing.append((path.name, name))
    assert missing == []


# The README's `agenda check` examples: Lyon with a misspelt key, Nice with its end in words.
TWO_PROBLEMS = """
[[sessions]]
id = "lyon"
series = "tour-des-villes"
number = 4
city = "Lyon"
strat = 2026-12-16T08:45:00
end = 2026-12-16T10:15:00
announced = 2026-12-01

[[sessions]]
id = "nice"
series = "tour-des-villes"
number = 5
city = "Nice"
start = 2027-01-20T08:45:00
end = "20/01/2027 10:15"
announced = 2026-12-01
"""


def _readme_output(first: str) -> list[list[str]]:
    """The README's code blocks that show what `agenda` prints, by their first words."""
    readme = (ROOT / "README.md").read_text("utf-8")
    blocks = re.findall(r"^```[^\n]*\n(.*?)^```$", readme, re.M | re.S)
    return [block.splitlines() for block in blocks if block.startswith(first)]


@pytest.mark.parametrize(("edit", "example"), [
    (lambda text: text + TWO_PROBLEMS, 0),
    (lambda text: text + TWO_PROBLEMS.replace('"20/01/2027 10:15"', "2027-01-20 10:15"), 1),
    (lambda text: text.replace("start = 2021-05-19T08:45:00", "start = 2021-05-19T09:30:00"), 2),
])
def test_readme_check_examples_are_what_check_prints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, edit, example: int,
) -> None:
    """The README's examples of `agenda check` are its output, word for word."""
    (tmp_path / "data").mkdir()
    for name in ("sessions.toml", "sessions.published.json"):
        (tmp_path / "data" / name).write_bytes((ROOT / "data" / name).read_bytes())
    shipped = tmp_path / "data" / "sessions.toml"
    shipped.write_text(edit(shipped.read_text("utf-8")), "utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AGENDA_DATA", raising=False)
    monkeypatch.delenv("AGENDA_PUBLISHED", raising=False)
    result = CliRunner().invoke(main, ["check"])
    assert result.output.splitlines() == _readme_output("data/sessions.toml")[example]
    assert result.exit_code == (0 if example == 2 else 1)


def _commands(command: click.Command, path: tuple[str, ...] = ()):
    """Every command of the `agenda` tree, with the words that run it."""
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, (*path, name))


def test_every_help_says_the_same_default_schedule() -> None:
    """Each --help that names $AGENDA_DATA says what is read without it, as the README does."""
    for path, command in _commands(main):
        texts = [command.help, *(getattr(param, "help", None) for param in command.params)]
        for text in filter(None, texts):
            for found in re.finditer(r"\$AGENDA_DATA\b(.{0,22})", " ".join(text.split())):
                assert found.group(1) == " or data/sessions.toml", (path, text)


def test_guide_quotes_only_what_the_program_shows() -> None:
    """Each « … » of the editors' guide (a button, a label, a message) is text of the program
    (its catalogue, templates or code), or a title of the guide itself."""
    program = " ".join(" ".join(html.unescape(path.read_text("utf-8")).split())
                       for pattern in ("*.py", "*.html", "*.po")
                       for path in (ROOT / "src" / "agenda").rglob(pattern))
    guide = (ROOT / "docs" / "guide-edition.md").read_text("utf-8")
    titles = set(re.findall(r"^#+ (.*)$", guide, re.M))
    quoted = {" ".join(q.split()) for q in re.findall(r"«\s*([^»]+?)\s*»", guide)}
    assert sorted(q for q in quoted if q not in program and q not in titles) == []


def _keys(value: object) -> set[str]:
    """Every key of every object in a JSON document."""
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


def _json_section() -> str:
    readme = (ROOT / "README.md").read_text("utf-8")
    return readme[readme.index("\n## JSON\n"):readme.index("\n## Tests that search")]


@pytest.mark.parametrize("fixture", ["client", "several_client"])
def test_readme_json_names_every_key_served(fixture: str, request: pytest.FixtureRequest) -> None:
    """The README's JSON section names every key of /events.json."""
    document = request.getfixturevalue(fixture).get("/events.json").get_json()
    named = set(re.findall(r"`([a-z_0-9]+)(?:\[\])?`", _json_section()))
    assert sorted(_keys(document) - named) == []


def test_readme_json_example_is_a_served_entry(tmp_path: Path) -> None:
    """The README's example entry is the shipped session as served before it took place (the
    screenshots' moment), whole, with only long values shortened (…)."""
    for name in ("sessions.toml", "sessions.published.json"):
        (tmp_path / name).write_bytes((ROOT / "data" / name).read_bytes())
    app = create_app({"AGENDA_DATA": str(tmp_path / "sessions.toml"),
                      "AGENDA_NOW": "2021-05-17T12:00:00+02:00"})
    example = json.loads(re.search(r"```json\n(.*?)```", _json_section(), re.S).group(1))
    served = app.test_client().get(f"/events/{example['id']}.json").get_json()
    whole = [k for k, v in example.items() if "…" not in json.dumps(v, ensure_ascii=False)]
    assert set(example) == set(served)
    assert {k: example[k] for k in whole} == {k: served[k] for k in whole}


def test_readme_first_deployment_makes_what_the_unit_reads() -> None:
    """Following the README's Debian steps as written gives the systemd unit each file and
    folder it names (the secret's file included), with every command they use installed."""
    readme = (ROOT / "README.md").read_text("utf-8")
    steps = re.search(r"A first deployment on Debian.*?```sh\n(.*?)```", readme, re.S).group(1)
    unit = (ROOT / "deploy" / "agenda.service").read_text("utf-8")
    wanted = re.findall(r"^(?:EnvironmentFile=-?|WorkingDirectory=|ReadWritePaths=)(\S+)",
                        unit, re.M)
    assert len(wanted) == 3  # the secret's file, the checkout, the data folder
    assert [path for path in wanted if not re.search(rf"[\s>]{re.escape(path)}(?![\w.-])", steps)
            ] == []
    installed = re.search(r"^apt-get install (.*)$", steps, re.M).group(1).split()
    used = {"sudo", "certbot", "curl", "git", "nginx"} & set(re.findall(r"[\w-]+", readme))
    assert [tool for tool in used if not any(p.startswith(tool) for p in installed)] == []


def test_readme_code_layout_names_every_module() -> None:
    """Each module and folder of the package is in the README's code layout."""
    readme = (ROOT / "README.md").read_text("utf-8")
    layout = readme[readme.index("## Code layout"):]
    package = ROOT / "src" / "agenda"
    names = [path for folder in (package, package / "render", package / "web", package / "desk")
             for path in folder.iterdir()
             if not path.name.startswith(("__", ".")) and not path.name.endswith(".egg-info")]
    assert sorted(p.name for p in names if p.name not in layout) == []


def test_numbers_the_docs_give_are_the_programs() -> None:
    """Each limit, delay and count the README and the guide state is the constant the program
    uses, so that changing one fails here until the words follow."""
    from agenda import format, history, loader, planning, store
    from agenda.desk import views
    from agenda.render import feeds
    readme = " ".join((ROOT / "README.md").read_text("utf-8").split())
    guide = " ".join((ROOT / "docs" / "guide-edition.md").read_text("utf-8").split())
    french = {10: "dix", 20: "vingt", 50: "cinquante"}
    claims = [
        (readme, f"at most {format.MAX_LINE:,} characters on one line"),
        (readme, f"{format.MAX_TEXT:,} in a `description`"),
        (readme, f"**URLs** at most {format.MAX_LINE:,} characters"),
        (readme, f"at most {format.MAX_NAME}, as they name files"),
        (readme, f"years {format.FIRST_YEAR} to {format.LAST_YEAR}"),
        (readme, f"at most {format.MAX_INTEGER:,}"),
        (readme, f"of at most {loader.MAX_FILE_BYTES // 10**6} MB"),
        (readme, f"within {history.CORRECTION_WINDOW.seconds // 60} minutes of the session's"),
        (readme, f"every {store.RETRY_SECONDS:g} seconds"),
        (readme, f"every {store.BUILD_RETRY_SECONDS:g} seconds"),
        (readme, f"({store.AHEAD.days} days)"),
        (readme, f"plan at most {planning.MOST_OCCURRENCES} dates"),
        (readme, f"holds the {feeds.MAX_ENTRIES} newest entries"),
        (readme, {2.0: "for two seconds (`AGENDA_SETTLE`)"}[store.SETTLE_SECONDS]),
        (guide, f"La connexion dure {views.LIFETIME.seconds // 3600} heures"),
        (guide, f"Après {french[views.FAILURES_PER_ACCOUNT]} mots de passe erronés"),
        (guide, f"{french[views.FAILURES_PER_ACCOUNT_ANYWHERE]} en un quart d’heure"),
        (guide, f"partent {french[views.FAILURES_PER_ADDRESS]} mots de passe erronés"),
        (guide, {15 * 60: "bloqué un quart d’heure"}[views.FAILURE_WINDOW]),
        (guide, f"publiée moins de {history.CORRECTION_WINDOW.seconds // 60} minutes après"),
    ]
    assert [claim for text, claim in claims if claim not in text] == []
