"""The desk's routes under /desk/: login, the agenda by series, forms, draft, preview, publish."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import tomli
from dateutil.relativedelta import relativedelta
from flask import (
    Blueprint,
    Flask,
    Request,
    Response,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError, generate_csrf, validate_csrf
from markupsafe import Markup, escape
from tomlkit.exceptions import TOMLKitError
from werkzeug.exceptions import HTTPException
from wtforms import ValidationError

from agenda import history, personal, planning
from agenda.desk import drafts, editors, forms, preview
from agenda.errors import AgendaError, Problem
from agenda.format import (
    CALENDAR,
    CONTACT,
    DEFAULT_TIMEZONE,
    SERIES,
    SESSION,
    TABLES,
    TOP,
    Field,
    Kind,
    Table,
)
from agenda.headers import security
from agenda.i18n import _, said
from agenda.loader import EMAIL
from agenda.published import (
    PublishedError,
    Version,
    publish,
    published_path,
    publishing_lock,
    read_version,
)
from agenda.render import wording
from agenda.site import Site
from agenda.store import VersionStore, built_mark, describe

log = logging.getLogger(__name__)

bp = Blueprint("desk", __name__, url_prefix="/desk", template_folder="templates",
               static_folder="static")

POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
HOUR = timedelta(hours=1)
LIFETIME = 8 * HOUR  # of a login, as the page of a form sent after it says
FAILURE_WINDOW = 15 * 60  # seconds during which failed logins count
# Editors' e-mails are public (press contacts): failures from one address lock that address
# out of the account, not the editor; only guessing spread over many addresses locks it.
FAILURES_PER_ACCOUNT = 10  # from one address
FAILURES_PER_ADDRESS = 20
FAILURES_PER_ACCOUNT_ANYWHERE = 50
# The only routes answered without a login (« trop-volumineux »: nginx's 413, in our words).
PUBLIC = {"desk.login", "desk.static", "desk.too_large"}
# Of a form: the one limit of its size, which the 413 page quotes; deploy/nginx's
# client_max_body_size of /desk/ is this number too (256k), and sends its 413 here.
MOST_BYTES = 256 * 1024
# The kinds of change of « Publier », as history.revise's `correction` (« regle »: the rule).
MODES = {"regle": None, "correction": True, "annonce": False}
PROXIES = ("127.0.0.1", "::1")  # whose X-Forwarded-For is believed: nginx (deploy/nginx)
LONGEST_EMAIL = 254  # RFC 5321; a longer one is cut before it is counted or logged


# --- where things are ---------------------------------------------------------------


def schedule_path() -> Path:
    """The schedule file this app serves."""
    return Path(current_app.config["AGENDA_DATA"])


def published_file() -> Path:
    """The published version of the schedule."""
    named = current_app.config.get("AGENDA_PUBLISHED")
    return Path(named) if named else published_path(schedule_path())


def editors_file() -> Path:
    """The editors file beside the schedule."""
    return editors.editors_path(schedule_path())


def _now() -> datetime:
    return datetime.now(UTC)


def _store() -> VersionStore:
    return current_app.extensions["agenda.store"]


def _published() -> Version | None:
    """The version published, as its file holds it: the one this process serves follows a
    publication at its watcher's next look (another worker's, after building its folder), and
    the pages said « Des modifications attendent » of what « Publier » had just sent. A file
    that cannot be read is « Publier »'s and /healthz's to say: the pages take the served one."""
    served = _store().current()
    try:
        return read_version(published_file(), str(schedule_path()), served)
    except PublishedError:
        return served


def _pending(raw: bytes, mode: str = "regle") -> preview.Pending:
    """What publishing `raw` now as `mode` would do, after the version published."""
    return preview.pending(schedule_path(), _published(), raw, _now(), MODES.get(mode),
                           g.editor.email)


def _mode() -> str:
    """The kind of change the editor chose on the draft page (kept for the preview)."""
    mode = session.get("mode")
    return mode if mode in MODES else "regle"


# --- guards and headers -------------------------------------------------------------


@bp.before_request
def guard() -> Response | str | None:
    """Off until an editor exists; CSRF on every POST; a login for everything but the login."""
    if not current_app.secret_key or not editors.read_editors(editors_file()):
        abort(404)
    if request.method == "POST":
        if not _utf8_form():
            abort(415)
        try:
            validate_csrf(request.form.get("csrf_token"))
        except ValidationError as error:
            raise CSRFError(str(error)) from None
    g.editor = _logged_in()
    if g.editor is None and request.endpoint not in PUBLIC:
        if request.method != "GET":
            abort(403)
        return _login_page(status=200)
    return None


def _utf8_form() -> bool:
    """False when the form was sent in another encoding than UTF-8, the desk pages' own (a
    page saved and reopened, a browser set to another encoding): its accents would be lost."""
    if request.mimetype_params.get("charset", "utf-8").lower() not in ("utf-8", "utf8"):
        return False
    if request.mimetype == "application/x-www-form-urlencoded":
        try:  # the body, and the bytes it escapes as %XX
            unquote_to_bytes(request.get_data()).decode("utf-8")
        except UnicodeDecodeError:
            return False
        return True
    # Werkzeug reads the parts of a multipart form in UTF-8, replacing what is not.
    return not any("\ufffd" in value for value in request.form.values())


def _logged_in() -> editors.Editor | None:
    email, since = session.get("editor"), session.get("since")
    if not isinstance(email, str) or not isinstance(since, float):
        return None
    if time.time() - since > LIFETIME.total_seconds():
        return None  # 8 hours after the login, however active the editor was
    editor = editors.read_editors(editors_file()).get(email)
    if editor is None or since <= editor.valid_after:
        return None
    return editor if hmac.compare_digest(str(session.get("proof")), _proof(editor)) else None


def _proof(editor: editors.Editor) -> str:
    """What a login's cookie holds besides the address: made of the editor's password hash,
    which only the server has. AGENDA_SECRET signs the cookie, but `agenda link` needs it
    wherever personal links are made: alone, it must forge no editor's login."""
    key = str(current_app.secret_key).encode("utf-8")
    return hmac.new(key, editor.password.encode("utf-8"), hashlib.sha256).hexdigest()


@bp.after_request
def headers(response: Response) -> Response:
    """Never cached, never indexed, a strict CSP."""
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Content-Security-Policy"] = POLICY
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    hsts = "Strict-Transport-Security"  # HTTPS only, as the site says it
    response.headers[hsts] = dict(security("/desk/"))[hsts]
    response.vary.add("Cookie")
    return response


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException) -> tuple[str, int]:
    """The desk's own error page, in French."""
    messages = {
        400: _("The form could not be checked (it dates from before your last login?): "
               "nothing was saved. Use the browser's Back button: what you typed is still "
               "there; save it again."),
        403: _("Log in to use the editors' desk."),
        404: _("This page does not exist."),
        413: _("The form is too large to be sent (more than {size} KB): shorten its longest "
               "texts, then try again.", size=MOST_BYTES // 1024),
        409: _("Your draft changed meanwhile (in another tab?), on the same lines as this "
               "form: nothing was saved. Use the browser's Back button: what you typed is "
               "still there; look at the draft, then save it again."),
        415: _("Your browser sent the form in another encoding than UTF-8: nothing was "
               "saved. Reload the page (it is in UTF-8) and send the form again; if this "
               "message comes back, use another browser."),
        429: _("Too many logins failed. Try again in {minutes} minutes, or ask an "
               "administrator to check your account.", minutes=FAILURE_WINDOW // 60),
    }
    code = error.code or 500
    message = messages.get(code, _("Something went wrong."))
    # A form sent once the login ended: without its cookie, the CSRF token fails (400); with
    # it (active till minutes before its 8 hours, or logged out in another browser), 403.
    ended = code in (400, 403) and request.endpoint not in PUBLIC and _logged_in() is None
    if ended:  # what was typed is still in this tab's history: the browser's Back gives it
        message = _("Your login has ended (after {hours} hours, or when you logged out in "
                    "another tab): nothing was saved. Keep this page: log in again in a new tab "
                    "(link below), then come back here and use the browser's Back button: what "
                    "you typed is still there; save it again.", hours=LIFETIME // HOUR)
    return render_template("desk/error.html", code=code, message=message, ended=ended), code


@bp.errorhandler(UnicodeDecodeError)
@bp.errorhandler(TOMLKitError)
@bp.errorhandler(tomli.TOMLDecodeError)
def unreadable(error: TOMLKitError | tomli.TOMLDecodeError | UnicodeDecodeError
               ) -> tuple[str, int]:
    """A draft or file that is not TOML (a hand edit in progress) or not UTF-8 (saved in
    another encoding): say so, and where to look."""
    log.warning("desk: the schedule text does not parse: %s", error)
    if isinstance(error, UnicodeDecodeError):
        detail = _("not UTF-8 text (byte {byte}); save the file as UTF-8", byte=error.start)
    else:  # in the loader's French words, as the draft page says it (tomlkit's are English)
        problems = _pending(current_draft().raw).problems
        detail = "; ".join(map(forms.problem_text, problems)) or str(error)
    return render_template("desk/unreadable.html", error=detail), 409


@bp.errorhandler(drafts.BrokenDraft)
def broken_draft(error: drafts.BrokenDraft) -> tuple[str, int]:
    """A draft file edited by hand or cut short: set aside already; say where, and go on."""
    log.warning("desk: %s", error)
    folder = schedule_path().parent
    return render_template("desk/error.html", code=409, message=_(
        "Your draft ({path}) could not be read: it was edited by hand or cut short. It was set "
        "aside as {aside} (the administrator can look at it there) and nothing was published "
        "or changed in the agenda. Go back to the desk: you start again from the agenda as it "
        "is, and make your changes again.", path=error.path.relative_to(folder),
        aside=error.aside.relative_to(folder))), 409


def _logged(error: BaseException) -> BaseException:
    """`error` as the operator's log says it: in the system's English words, which name the
    file, when it comes of a system call's failure; the catalogue's French is the editor's."""
    cause = error.__cause__ or error.__context__
    return cause if isinstance(error, AgendaError) and isinstance(cause, OSError) else error


@bp.errorhandler(OSError)
@bp.errorhandler(AgendaError)
def unavailable(error: Exception) -> tuple[str, int]:
    """A file that cannot be read or written (the schedule, the published version, a draft)."""
    log.error("desk: %s", _logged(error))
    if getattr(g, "editor", None) is None:  # the login page: no server path to a visitor
        return render_template("desk/error.html", code=503, message=_(
            "The editors' desk is unavailable for now: try again later, or tell the "
            "administrator (the server's log says why).")), 503
    named = f"{error.filename}: " if isinstance(error, OSError) and error.filename else ""
    message = _("The desk cannot read or write the agenda's files: {error}. Nothing was "
                "published; try again, or tell the administrator.",
                error=(named + said(error)).rstrip("."))
    if "shown" in request.form:  # a form typed in (a disk full?): in this tab's history still
        message += " " + _("Nothing was saved either: the browser's Back button gives back what "
                           "you typed; save it again once this is solved.")
    return render_template("desk/error.html", code=503, message=message), 503


@bp.context_processor
def _context() -> dict[str, Any]:
    # The 15-minute rule, said by the draft page in the number history applies.
    return {"csrf_token": generate_csrf, "problem_text": forms.problem_text,
            "correction_minutes": history.CORRECTION_WINDOW // timedelta(minutes=1)}


def _in_html(msgid: str, **values: object) -> Markup:
    """`_` of the desk's templates: the editor's text escaped, and its values unless Markup
    (a link built in the template). Not jinja2.ext.i18n: its placeholders are %(name)s."""
    text = escape(_(msgid))
    return text.format(**values) if values else text


# --- login --------------------------------------------------------------------------


def _too_many(email: str, address: str, now: float, record: bool = False) -> bool:
    """True when this account or this address failed too often lately (counting one more)."""
    account, origin = "account:" + email, "address:" + address
    pair = f"{account} {origin}"
    counts = editors.count_failure(editors.failures_path(editors_file()),
                                   (account, pair, origin), now, FAILURE_WINDOW, record)
    return counts[pair] >= FAILURES_PER_ACCOUNT or counts[origin] >= FAILURES_PER_ADDRESS \
        or counts[account] >= FAILURES_PER_ACCOUNT_ANYWHERE


def _login_page(status: int, error: str = "", email: str = "") -> tuple[str, int]:
    following = request.full_path if request.endpoint not in PUBLIC else ""
    return render_template("desk/login.html", error=error, email=email,
                           next=request.form.get("next", following.rstrip("?"))), status


def _client_address() -> str:
    """The address failed logins are counted by. Behind nginx on this host (deploy/nginx, as
    gunicorn's forwarded_allow_ips trusts; or through a unix socket, with no address), the
    last one it appended to X-Forwarded-For; served directly (agenda serve --host 0.0.0.0),
    the peer's: the header is then the client's own words, a new address at each try."""
    peer = request.remote_addr
    if peer and peer not in PROXIES:
        return peer
    return (request.access_route or ["?"])[-1] or "?"


@bp.route("/connexion", methods=["GET", "POST"])
def login() -> Any:
    """The login form; on success, a session of 8 hours."""
    if request.method == "GET":
        return redirect(url_for("desk.index")) if g.editor else _login_page(200)
    email = request.form.get("email", "").strip().lower()[:LONGEST_EMAIL]
    # Only an e-mail address is logged, counted and shown again: a password typed into this
    # field by mistake must reach neither the log, nor the failures file, nor the page.
    email = email if EMAIL.fullmatch(email) else ""
    address = _client_address()
    now = time.time()
    if _too_many(email, address, now):
        log.warning("desk: login refused for %r from %r: too many failures", email, address)
        abort(429)
    editor = editors.authenticate(editors_file(), email, request.form.get("password", ""))
    if editor is None:
        log.warning("desk: failed login for %r from %r", email, address)
        if _too_many(email, address, now, record=True):
            abort(429)
        return _login_page(200, _("Wrong address or password."), email)
    session.clear()
    session.permanent = True
    session.update(editor=editor.email, since=now, proof=_proof(editor))
    log.info("desk: %s logged in from %s", editor.email, address)
    following = request.form.get("next", "")
    # A path of the desk, on one line: a line break would end the Location header.
    if following.startswith("/desk/") and following.isprintable():
        return redirect(following)
    return redirect(url_for("desk.index"))


@bp.post("/deconnexion")
def logout() -> Any:
    """End every session of this editor started until now: this browser's first, so that it
    is ended even when the editors file cannot be written (the 503 kept the cookie)."""
    email, g.editor = g.editor.email, None
    session.clear()
    try:
        editors.end_sessions(editors_file(), email, time.time())
    except (OSError, AgendaError) as error:
        log.error("desk: the other sessions of %s could not be ended: %s", email, _logged(error))
        return render_template("desk/error.html", code=503, message=_(
            "You are logged out in this browser, but your logins in other browsers could not "
            "be ended: {error}. Tell the administrator.", error=error)), 503
    return redirect(url_for("desk.login"))


# --- the draft ----------------------------------------------------------------------


def _file_text() -> str:
    """The schedule file's text; a byte order mark at its start is left out, as the loader
    does (UnicodeDecodeError when it is not UTF-8)."""
    return schedule_path().read_bytes().decode("utf-8-sig")


def current_draft() -> drafts.Draft:
    """The editor's draft, or a fresh one from the file (saved only once edited)."""
    found = drafts.load_draft(schedule_path(), g.editor.email)
    if found is not None:
        return found
    text = _file_text()
    return drafts.Draft(text, text)


def _try(text: str, key: str, item_id: str | None, table: Table,
         kept: dict[str, list[int]] | None = None) -> tuple[dict[str, str], list[Problem]]:
    """The problems the draft `text` has: those about this item by input name (`kept`: where
    in the form each row of a list is), and the rest."""
    found = _pending(text.encode("utf-8"))
    mine: dict[str, str] = {}
    others: list[Problem] = []
    for problem in found.problems:
        name = forms.problem_field(table, problem.field, kept)
        # An id is a slug: found as a whole word, however the message quotes it.
        if item_id is not None and name and re.search(
                rf"(?<![\w-]){re.escape(item_id)}(?![\w-])", problem.where):
            mine[name] = forms.in_words(problem.message, table)
        elif item_id is None and key in problem.where and name:
            mine[name] = forms.in_words(problem.message, table)
        else:
            others.append(problem)
    return mine, others


def _save(draft: drafts.Draft, text: str) -> None:
    """Save `text`, the editor's change to `draft`. A draft saved meanwhile (from another tab,
    while this change was checked: seconds at 10,000 sessions) gets the change carried over:
    saved as it was, it undid the other tab's change without a word."""
    with drafts.held(schedule_path(), g.editor.email):
        now = current_draft()
        if now != draft:
            carried = drafts.rebase(drafts.Draft(text, draft.text), now.text)
            if carried is None:
                abort(409)
            draft, text = now, carried.text
        drafts.save_draft(schedule_path(), g.editor.email, drafts.Draft(text, draft.base))


def _changed(fields: tuple[Field, ...], posted: dict[str, Any],
             values: dict[str, Any]) -> tuple[tuple[Field, ...], dict[str, str]]:
    """The fields the editor changed in the form, against the values it showed (its `shown`
    input): a form left open in another tab must not put back the values it showed. And, by
    input name, those of them changed meanwhile to another value than hers, with that value
    as the form shows it (`values`, the draft's now): another editor's publication, another
    tab's save, a hand edit, which her typing replaced without a word."""
    try:
        shown = json.loads(request.form.get("shown", ""))
    except (ValueError, RecursionError):  # not sent by the form: every field is the editor's
        return fields, {}
    if not isinstance(shown, dict) or not all(isinstance(v, str) for v in shown.values()):
        return fields, {}
    before = forms.read(fields, shown)[0]
    as_now = forms.submitted(forms.inputs(fields, values, {}))
    now = forms.read(fields, as_now)[0]
    mine = tuple(f for f in fields if posted.get(f.name) != before.get(f.name))
    return mine, {f.name: as_now.get(f.name, "") for f in mine
                  if now.get(f.name) not in (before.get(f.name), posted.get(f.name))}


def _changed_meanwhile(value: str, field: Field) -> str:
    """What the form says of a field changed meanwhile, with its value as an input shows it."""
    if value and field.kind not in (Kind.BOOLEAN, Kind.CHOICE):
        return _("Changed meanwhile (by another editor, in another tab or in the file): it is "
                 "now « {value} ». What you typed is kept here: save again to put it in its "
                 "place.", value=value)
    return _("Changed meanwhile (by another editor, in another tab or in the file). What you "
             "typed is kept here: save again to put it in its place.")


def _form(title: str, key: str, item_id: str | None, table: Table, fields: tuple[Field, ...],
          values: dict[str, Any], fixed: tuple[str, ...] = (), intro: str = "",
          adjust: Callable[[dict[str, Any]], dict[str, str]] | None = None) -> Any:
    """Show a form of `fields` or, on POST, write it into the draft (or show its errors)."""
    errors: dict[str, str] = {}
    others: list[Problem] = []
    mine, first, status = fields, request.form.get("shown"), 0
    if request.method == "POST":
        posted, errors = forms.read(fields, request.form)
        for name in fixed:
            posted[name] = values.get(name)
        if adjust is not None:
            errors.update(adjust(posted))
        values = {**values, **posted}
        if not errors:
            draft = current_draft()
            target = posted.get("id", item_id) if key == "sessions" else item_id
            current = drafts.item_values(draft.text, key, target)
            mine, theirs = _changed(fields, posted, current) if current is not None \
                else (fields, {})
            if theirs:  # shown again: the draft's values, but hers; saved at the next click
                by_name = {f.name: f for f in fields}
                errors = {n: _changed_meanwhile(v, by_name[n]) for n, v in theirs.items()}
                values = {**current, **{f.name: posted.get(f.name) for f in mine}}
                first = json.dumps(forms.submitted(forms.inputs(fields, current, {})),
                                   ensure_ascii=False)
                status = 409
            else:
                text = drafts.edit(draft.text, key, target, mine, posted)
                kept = {f.name: forms.read_rows(forms.editable(TABLES[f.table]), request.form,
                                                f.name + ".")[2]
                        for f in fields if f.kind is Kind.TABLES and f.table}
                errors, others = _try(text, key, target, table, kept)
                if not errors:
                    _save(draft, text)
                    return _saved(target if key == "sessions" else None)
    if errors:  # the rows of a list (speakers) as typed, each in its place, as errors say
        values.update((f.name, forms.typed_rows(request.form, f.name + "."))
                      for f in mine if f.kind is Kind.TABLES)
    shown = forms.inputs(fields, values, errors, fixed=fixed, typed=request.form)
    first = first or json.dumps(forms.submitted(shown), ensure_ascii=False)
    # A problem may name a field this form does not show ("announced" when dating a session).
    labels = {name: forms.input_words(table, name) for name in errors}
    whole = (url_for("desk.edit_session", session_id=item_id)
             if key == "sessions" and item_id and request.endpoint != "desk.edit_session"
             else None)
    return render_template("desk/form.html", title=title, inputs=shown, errors=errors,
                           labels=labels, others=others, intro=intro, zone=_wall_clock(),
                           shown=first, anchors=_anchors(errors, shown, table, whole)), \
        status or (422 if errors else 200)


def _anchors(errors: dict[str, str], shown: list[forms.Input], table: Table,
             whole: str | None = None) -> dict[str, str]:
    """Where each point to correct leads: its field on this form, else on the form of every
    field (`whole`: a session's « Modifier »); none leads to nothing."""
    here = forms.shown_names(shown)
    editable = {f.name for f in forms.editable(table)}
    found = {}
    for name in errors:
        target = "#" + forms.dom_id(name)
        if name in here:
            found[name] = target
        elif whole is not None and name.split(".")[0] in editable:
            found[name] = whole + target
    return found


def _saved(session_id: str | None) -> Any:
    """The list of sessions after a save, saying so on the session's row, or at its top for
    what has no row; the focus goes there (not an #anchor: browsers then skip autofocus)."""
    if session_id is None:
        return redirect(url_for("desk.index", enregistre=1))
    return redirect(url_for("desk.index", seance=session_id))


def _wall_clock() -> str:
    """The zone the times typed are in, named as the site's pages name it (« Heure d’Alger. »,
    not the English city of its IANA id): the browser's date and time inputs have none, and an
    editor away may type the local time. Nothing while the draft's zone is not one."""
    values = drafts.item_values(current_draft().text, "calendar", None) or {}
    try:
        zone = ZoneInfo(str(values.get("timezone") or DEFAULT_TIMEZONE))
        label = wording.zone_label(datetime.now(zone))
    except (ZoneInfoNotFoundError, ValueError, OSError, LookupError):  # the loader's refusals
        return ""
    return f"{label[:1].upper()}{label[1:]}." if label else ""


def _number(values: dict[str, Any]) -> int:
    """A session's number to sort by; 0 without one (or with a hand-written text)."""
    number = values.get("number")
    return number if isinstance(number, int) else 0


def _session_values(session_id: str) -> dict[str, Any]:
    values = drafts.item_values(current_draft().text, "sessions", session_id)
    if values is None:
        abort(404)
    return values


# --- pages --------------------------------------------------------------------------


@bp.get("/")
def index() -> Any:
    """The agenda as a list by series, with the actions on each session."""
    draft = drafts.load_draft(schedule_path(), g.editor.email)
    text = draft.text if draft else _file_text()
    data = drafts.values(text)  # once: a second of tomlkit at 1,000 sessions, a tenth here
    sessions = data.get("sessions", [])
    series = [
        (s, sorted((x for x in sessions if x.get("series") == s.get("id")), key=_number))
        for s in data.get("series", [])
    ]
    moved = draft is not None and draft.moved(_file_text())
    found = _pending(text.encode("utf-8"))
    # Where « saved » is said: on the session's row when it has one, else at the top.
    row = request.args.get("seance")
    row = row if any(x.get("id") == row for x in sessions) else None
    return render_template("desk/index.html", series=series, draft=draft, moved=moved,
                           waiting=not found.unchanged,  # a new version, or problems
                           problems=len(found.problems), to_come=_to_come(found.version),
                           published=request.args.get("publie", type=int), saved_row=row,
                           saved=row is None and ("seance" in request.args
                                                  or "enregistre" in request.args))


@bp.route("/seances/<session_id>", methods=["GET", "POST"])
def edit_session(session_id: str) -> Any:
    """« Modifier »: every field of a session."""
    values = _session_values(session_id)
    return _form(_("Edit the session '{city}'", city=values.get("city", session_id)), "sessions",
                 session_id, SESSION, forms.editable(SESSION), values, fixed=("id",),
                 adjust=_replay_once_over(session_id, values))


@bp.route("/seances/<session_id>/reporter", methods=["GET", "POST"])
def move_session(session_id: str) -> Any:
    """« Reporter »: a new start and end (and, for a session cancelled, its status)."""
    values = _session_values(session_id)
    intro = _("Give the new date. Subscribers will see the session moved.")
    names: tuple[str, ...] = ("start", "end")
    if values.get("status") == "cancelled":  # called off, then given a new date: held again?
        names += ("status",)
        intro = _("This session is cancelled: give the new date, and choose 'Confirmed' if it "
                  "takes place then; otherwise it stays cancelled at the new date.")
    return _form(_("Move the session '{city}'", city=values.get("city", session_id)), "sessions",
                 session_id, SESSION, forms.editable(SESSION, names), values, intro=intro)


@bp.route("/seances/<session_id>/replay", methods=["GET", "POST"])
def add_replay(session_id: str) -> Any:
    """« Ajouter le replay »: the recording's link."""
    values = _session_values(session_id)
    return _form(_("Add the replay of '{city}'", city=values.get("city", session_id)), "sessions",
                 session_id, SESSION, forms.editable(SESSION, ("replay_url",)), values,
                 adjust=_replay_once_over(session_id, values))


def _to_come(version: Version | None) -> frozenset[str]:
    """The sessions of a draft's version not over, as their pages say (none without a
    version): not ended yet, or without a date and not known to be held, at the pages' moment
    (AGENDA_NOW when the service is pinned to one), not the wall clock's."""
    sessions = version.schedule.sessions if version is not None else ()
    now = _store().moment()
    return frozenset(s.id for s in sessions if not s.is_over(now))


def _replay_once_over(session_id: str,
                      values: dict[str, Any]) -> Callable[[dict[str, Any]], dict[str, str]]:
    """The session forms' check that a new replay is of a session over: one to come would
    be said « Tenue » on its page, and journalists told « Replay disponible » before it."""
    def adjust(posted: dict[str, Any]) -> dict[str, str]:
        if posted.get("replay_url") in (None, values.get("replay_url")) \
                or session_id not in _to_come(_pending(current_draft().raw).version):
            return {}
        return {"replay_url": _("This session has not taken place yet: add its replay once it "
                                "is over (on the wrong session?).")}
    return adjust


@bp.route("/seances/<session_id>/annuler", methods=["GET", "POST"])
def cancel_session(session_id: str) -> Any:
    """« Annuler »: the session stays, marked cancelled."""
    return _set_status(session_id, "cancelled")


@bp.route("/seances/<session_id>/retablir", methods=["GET", "POST"])
def restore_session(session_id: str) -> Any:
    """« Rétablir »: a cancelled session takes place after all (found in « Modifier » only,
    where nothing said to look)."""
    return _set_status(session_id, "confirmed")


def _set_status(session_id: str, status: str) -> Any:
    """The confirmation page of « Annuler » or « Rétablir »; on POST, the status in the draft."""
    values = _session_values(session_id)
    errors: dict[str, str] = {}
    if status == "cancelled" and values.get("held") is True:  # its page would say « Annulé »
        errors = {"held": _("This session took place already: it cannot be cancelled. If it "
                            "did not, untick this box first ('Edit').")}
    elif request.method == "POST":
        draft = current_draft()
        text = drafts.edit(draft.text, "sessions", session_id,
                           forms.editable(SESSION, ("status",)), {"status": status})
        errors = _try(text, "sessions", session_id, SESSION)[0]
        if not errors:
            _save(draft, text)
            return _saved(session_id)
    return render_template("desk/cancel.html", values=values, session_id=session_id,
                           restore=status != "cancelled",
                           errors={forms.input_words(SESSION, k): v for k, v in errors.items()}), \
        (422 if errors else 200)


def _next_values(last: dict[str, Any] | None, series_id: str) -> dict[str, Any]:
    """A new session after `last`: number + 1, the same times a month later (or the first
    such day to come), the same links; the date the series' rhythm plans for that number
    when it plans one."""
    version = _pending(current_draft().raw).version
    zone = version.schedule.calendar.timezone if version is not None else UTC
    now = _now().astimezone(zone).replace(tzinfo=None)  # the calendar's wall clock
    values: dict[str, Any] = {"series": series_id}
    if last is not None:
        keep = ("series", "start", "end", "moderator", "video_url", "video_public",
                "registration_url")
        values = {k: last[k] for k in keep if k in last}
        # A month after a session long past is past too, and was published unnoticed.
        months = 1
        while isinstance(start := values.get("start"), datetime) \
                and (start + relativedelta(months=months)).replace(tzinfo=None) <= now:
            months += 1
        for key in ("start", "end"):
            if isinstance(values.get(key), datetime):
                values[key] += relativedelta(months=months)
    number = _number(last) + 1 if last is not None else 1
    if last is None or isinstance(last.get("number"), int):
        values["number"] = number
    series = version.schedule.series_by_id(series_id) if version is not None else None
    if series is not None and series.rhythm is not None:
        # Occurrence n is session n° n: a month later is another weekday (the 3rd Wednesday).
        for planned, start, end in planning.occurrences(series.rhythm):
            if planned == number:
                values.update(start=start.replace(tzinfo=None), end=end.replace(tzinfo=None))
    values["announced"] = now.date()  # today in the calendar's zone, not the server's
    return values


@bp.route("/series/<series_id>/nouvelle", methods=["GET", "POST"])
def new_session(series_id: str) -> Any:
    """« Nouvelle séance »: prefilled from the last session of the series."""
    text = current_draft().text
    series = drafts.item_values(text, "series", series_id)
    if series is None:
        abort(404)
    mine = [s for s in drafts.rows_values(text, "sessions") if s.get("series") == series_id]
    last = max(mine, key=_number, default=None)

    def unique(posted: dict[str, Any]) -> dict[str, str]:
        # The same form sent twice (a double click) finds its session as it would write it.
        text, wanted = current_draft().text, posted.get("id") or ""
        taken = drafts.item_values(text, "sessions", wanted) is not None and \
            drafts.edit(text, "sessions", wanted, forms.editable(SESSION), posted) != text
        return {"id": _("This id is taken already; choose another one.")} if taken else {}

    # Named by its series, as the list's link is: two series' forms are told apart.
    title = _("New session of '{title}'", title=series.get("title") or series_id)
    return _form(title, "sessions", None, SESSION, forms.editable(SESSION),
                 _next_values(last, series_id), adjust=unique,
                 intro=_("The values are those of the series' last session: check the date, "
                         "the links and the speakers."))


@bp.route("/series/<series_id>", methods=["GET", "POST"])
def edit_series(series_id: str) -> Any:
    """The series' fields."""
    values = drafts.item_values(current_draft().text, "series", series_id)
    if values is None:
        abort(404)
    return _form(_("Series '{title}'", title=values.get("title", series_id)), "series",
                 series_id, SERIES, forms.editable(SERIES), values, fixed=("id",))


@bp.route("/agenda", methods=["GET", "POST"])
def edit_calendar() -> Any:
    """The calendar's settings."""
    values = drafts.item_values(current_draft().text, "calendar", None) or {}
    return _form(_("Agenda settings"), "calendar", None, CALENDAR,
                 forms.editable(CALENDAR), values, fixed=("base_url",))


@bp.route("/contacts", methods=["GET", "POST"])
def edit_contacts() -> Any:
    """The press contacts: one row each, an empty row to add one, empty a row to remove it."""
    fields = forms.editable(CONTACT)
    field = Field("contacts", Kind.TABLES, "", table="contact", label=_("Press contacts"),
                  help=_("Empty a row to remove a contact; fill in the last one to add one."))
    rows = drafts.rows_values(current_draft().text, "contacts")
    now = json.dumps(forms.submitted(forms.inputs((field,), {"contacts": rows}, {})))
    errors: dict[str, str] = {}
    others: list[Problem] = []
    status = 200
    if request.method == "POST" and request.form.get("shown", now) != now:
        # Rows go by position: a form shown before another tab saved would undo that change.
        errors = {"contacts": _("The press contacts were changed meanwhile (in another tab?). "
                                "Nothing was saved: here they are as they are now; make your "
                                "change again.")}
        status = 409
    elif request.method == "POST":
        rows, errors, kept = forms.read_rows(fields, request.form, "contacts.")
        if not errors:
            draft = current_draft()
            text = drafts.edit_rows(draft.text, "contacts", fields, rows)
            errors, others = _contact_problems(text, kept)
            if not errors:
                _save(draft, text)
                return _saved(None)
        # Shown again as typed, each row in its place: the errors name rows by that place.
        rows = forms.typed_rows(request.form, "contacts.")
        status, now = (422 if errors else 200), request.form.get("shown", now)
    shown = forms.inputs((field,), {"contacts": rows}, errors,
                         typed=request.form if status != 409 else None)
    return render_template("desk/form.html", title=_("Press contacts"), inputs=shown,
                           errors=errors, others=others, intro="",
                           labels={name: forms.input_words(TOP, name) for name in errors},
                           shown=now, anchors=_anchors(errors, shown, TOP)), status


def _contact_problems(text: str, kept: list[int]) -> tuple[dict[str, str], list[Problem]]:
    """The problems of the draft `text`: those of the contacts by input name (« contact n° 2 »
    is the second row `kept` of the form's rows), and the rest."""
    head, _braces, tail = _("contact #{number}").partition("{number}")
    mine: dict[str, str] = {}
    others: list[Problem] = []
    for problem in _pending(text.encode("utf-8")).problems:
        row = re.fullmatch(rf"{re.escape(head)}(\d+){re.escape(tail)}", problem.where)
        name = forms.problem_field(CONTACT, problem.field)
        if row and name:
            place = kept[int(row.group(1)) - 1]
            mine[f"contacts.{place}.{name}"] = forms.in_words(problem.message, CONTACT)
        else:
            others.append(problem)
    return mine, others


@bp.route("/brouillon", methods=["GET", "POST"])
def draft_page() -> Any:
    """What publishing the draft sends out, the check's words, its problems, and the buttons;
    POST (« Voir ce qu'envoie ce type de modification »): the kind of change chosen. Never a
    GET's ?mode=: a link from another site would choose « correction » (no news) unseen."""
    if request.method == "GET":
        return _draft_view()
    if request.form.get("mode") in MODES:
        session["mode"] = request.form["mode"]
    return redirect(url_for("desk.draft_page"))


def _seen(draft: drafts.Draft, listed: list[preview.Outgoing], mode: str) -> str:
    """A digest of what the draft page shows as going out, which « Publier » posts back."""
    return hashlib.sha256(repr((draft.text, listed, mode)).encode("utf-8")).hexdigest()


def _draft_view(changed: bool = False, other_kind: bool = False) -> str:
    """The draft page; `changed` when « Publier » refused as what goes out changed since,
    `other_kind` as the editor chose another kind of change than the page showed."""
    draft = current_draft()
    file_text = _file_text()
    if draft.moved(file_text):
        # What the draft sends as it is would undo the other change: nothing is listed
        # until the draft is carried over, as « Publier » publishes nothing until then.
        return render_template("desk/draft.html", moved=True, mine=(), pending=None,
                               **_conflict(draft, file_text))
    # One version published and one moment for both: the store may publish between two asks.
    current, now = _published(), _now()
    found = preview.pending(schedule_path(), current, draft.raw, now, MODES[_mode()],
                            g.editor.email)
    listed = preview.outgoing(found.version, found.changes, now, current) if found.version else []
    return render_template(
        "desk/draft.html", draft=draft, pending=found, outgoing=listed, mode=_mode(),
        moved=False, mine=drafts.diff(draft.base, draft.text, (_("file"), _("draft"))),
        seen=_seen(draft, listed, _mode()), changed=changed, other_kind=other_kind,
        forms_of=_forms_of(draft.text) if found.problems else {},
    )


def _forms_of(text: str) -> dict[str, str]:
    """The form of each session and series of the draft `text` (and of the settings), by the
    words a problem names it with (« séance « lyon » »): where the editor puts it right."""
    try:
        data = tomli.loads(text)
    except ValueError:  # TOMLDecodeError, or a number int() refuses (4,300+ digits)
        return {}
    found = {"[calendar]": url_for("desk.edit_calendar")}
    for key, msgid, endpoint, name in (
            ("sessions", "session '{id}'", "desk.edit_session", "session_id"),
            ("series", "series '{id}'", "desk.edit_series", "series_id")):
        items = data.get(key)
        for item in items if isinstance(items, list) else ():
            ident = item.get("id") if isinstance(item, dict) else None
            if isinstance(ident, str) and ident:
                found[_(msgid, id=ident)] = url_for(endpoint, **{name: ident})
    return found


def _conflict(draft: drafts.Draft, on_disk: str) -> dict[str, Any]:
    """The other change, the draft's, and whether the draft can be carried over."""
    start = _("start of the draft")
    return {"theirs": drafts.diff(draft.base, on_disk, (start, _("current file"))),
            "mine_since": drafts.diff(draft.base, draft.text, (start, _("draft"))),
            "mergeable": drafts.rebase(draft, on_disk) is not None}


@bp.post("/publier")
def publish_draft() -> Any:
    """« Publier »: write the file from the draft and publish it, under one hold of the lock:
    let go in between, `agenda publish` (or the watcher, or another worker) published the
    editor's text by the rule and by nobody, and a correction went out as news."""
    draft = current_draft()
    mode = request.form.get("mode", "")
    mode = mode if mode in MODES else "regle"
    store = _store()
    # Before the lock: asking the store may publish, which takes this very lock.
    served, moment, known = store.site(), store.moment(), store.current()
    with publishing_lock(published_file()):
        on_disk = _file_text()
        if draft.moved(on_disk):
            return render_template("desk/conflict.html", **_conflict(draft, on_disk)), 409
        # The file's, which another process may have published since: `known` if it holds it
        # (the schedule served is not read again, here nor by `publish`).
        current = read_version(published_file(), str(schedule_path()), known)
        # One moment for the check and the publication: a clock read again after the site is
        # built (a minute at 10,000 sessions) had the 15-minute rule or a session's end make
        # another version than the one checked, and news the page had said would not go out.
        now = _now()
        found = preview.pending(schedule_path(), current, draft.raw, now, MODES[mode],
                                g.editor.email)
        if found.problems:
            return redirect(url_for("desk.draft_page"))
        # What the page showed going out (under the kind it showed), as « Publier » posts it
        # back: the draft changed in another tab since, the 15-minute rule has since made a
        # correction an announcement, or another kind was chosen without being shown.
        seen, shown = request.form.get("seen"), request.form.get("shown_mode", mode)
        changed = seen is not None and not found.unchanged and seen != _seen(
            draft, preview.outgoing(found.version, found.changes, now, current), shown)
        if not changed:
            return _write_and_publish(draft, on_disk, found, (served, moment), mode, current, now)
    # Out of the lock: the page asks the store, which may publish.
    session["mode"] = mode
    return _draft_view(changed=shown == mode, other_kind=shown != mode), 409


def _write_and_publish(draft: drafts.Draft, on_disk: str, found: preview.Pending,
                       served: tuple[Site, datetime], mode: str, current: Version | None,
                       now: datetime) -> Any:
    """The second half of « Publier », the publishing lock held: the draft's site built (or
    found built), the file written, the version published after `current` at `now` (the
    moment `found` was made for), the draft dropped."""
    # The preview's site: built then, found here; if it cannot be, nothing is written.
    # (Nothing new to publish, as at a double click, needs no site.)
    if not found.unchanged:
        _draft_site(found, served[1], served[0], mode)
    if draft.text != on_disk:
        # A hand edit takes no lock: one saved meanwhile (while the site was built, a
        # minute at 10,000 sessions) is not written over.
        on_disk = _file_text()
        if draft.moved(on_disk):
            return render_template("desk/conflict.html", **_conflict(draft, on_disk)), 409
        drafts.write_atomically(schedule_path(), draft.raw)
    try:
        outcome = publish(schedule_path(), published_file(), now, raw=draft.raw, known=current,
                          correction=MODES[mode], editor=g.editor.email,
                          built=built_mark(_store().site_root), held=True)
    except AgendaError as error:
        log.error("desk: %s could not publish: %s", g.editor.email, _logged(error))
        return render_template("desk/error.html", code=500, message=_(
            "Publishing failed: {error}. Your draft is kept: click 'Publish' again once this "
            "is solved.", error=error)), 500
    # A draft saved meanwhile (from another tab) is newer than the one published: kept.
    try:
        if drafts.load_draft(schedule_path(), g.editor.email) == draft:  # else no lock to make
            with drafts.held(schedule_path(), g.editor.email):
                if drafts.load_draft(schedule_path(), g.editor.email) == draft:
                    drafts.drop_draft(schedule_path(), g.editor.email)
    except drafts.BrokenDraft as error:  # set aside already; what was published stands
        log.warning("desk: %s", error)
    session.pop("mode", None)  # the next draft starts from the rule again
    # As every publication's line: the sessions changed and what the feeds announce.
    log.info("desk: %s published %s", g.editor.email, describe(outcome))
    return redirect(url_for("desk.index", publie=outcome.version.number))


@bp.post("/reprendre")
def rebase() -> Any:
    """Carry the draft's changes over to the file as it is now, when they touch other lines."""
    with drafts.held(schedule_path(), g.editor.email):
        moved = drafts.rebase(current_draft(), _file_text())
        if moved is not None:
            drafts.save_draft(schedule_path(), g.editor.email, moved)
    return redirect(url_for("desk.draft_page"))


@bp.route("/abandonner", methods=["GET", "POST"])
def drop() -> Any:
    """« Abandonner le brouillon », once confirmed: what would be lost is shown first."""
    if request.method == "GET":
        return _drop_page(current_draft())
    with drafts.held(schedule_path(), g.editor.email):
        draft = drafts.load_draft(schedule_path(), g.editor.email)
        # None: abandoned (or published) already, by the first of a double click, or another
        # tab; there is nothing to lose, and nothing « changed meanwhile » to say.
        if draft is None:
            return redirect(url_for("desk.index"))
        # The changes confirmed are those shown: one saved since in another tab is shown first.
        if request.form.get("shown", _digest(draft)) != _digest(draft):
            return _drop_page(draft, changed=True)
        drafts.drop_draft(schedule_path(), g.editor.email)
    return redirect(url_for("desk.index"))


def _digest(draft: drafts.Draft) -> str:
    return hashlib.sha256(draft.text.encode("utf-8")).hexdigest()


def _drop_page(draft: drafts.Draft, changed: bool = False) -> tuple[str, int]:
    """What « Abandonner » would lose; `changed`: since the page the editor confirmed."""
    return render_template("desk/drop.html", changed=changed, shown=_digest(draft),
                           mine=drafts.diff(draft.base, draft.text, (_("file"), _("draft")))), \
        409 if changed else 200


# --- the preview --------------------------------------------------------------------


class Unbuildable(Exception):
    """The site of the editor's draft could not be built: it must not be published."""


def _draft_site(found: preview.Pending, moment: datetime, served: Site,
                mode: str) -> tuple[Site, datetime]:
    """The site of the editor's draft, `found`, built by the site's builder (the preview),
    or found built for the same version, and the publication time it is dated by; `served`
    lends the files that did not change."""
    # One folder a kind of change: the same text gives another history as a correction.
    folder = drafts.preview_folder(schedule_path(), g.editor.email) / mode
    assert found.version is not None, "a draft with problems has no site"
    try:
        return preview.preview_site(found.version, moment, folder, served, found.changes)
    except (OSError, AgendaError):
        raise  # a full disk, agenda changed on disk: said as the desk says what it cannot do
    except Exception as error:  # a bug of a render function, in this draft's data
        raise Unbuildable() from error


@bp.errorhandler(Unbuildable)
def unbuildable(error: Unbuildable) -> tuple[str, int]:
    """What to do, in French; the cause in the log, for the administrator."""
    log.error("desk: the site of %s's draft cannot be built", g.editor.email,
              exc_info=error.__cause__)
    return render_template("desk/error.html", code=500, message=_(
        "The site could not be built from your draft: nothing was published, and your draft "
        "is kept. Undo your last change (see 'Draft and publishing') and try again, or tell "
        "the administrator (the server's log says what failed).")), 500


def _preview() -> tuple[Site, datetime] | None:
    """The site built from the draft, rebuilt when the draft changed; None if it is invalid
    or behind the file (it would show the other change undone)."""
    draft = current_draft()
    if draft.moved(_file_text()):
        return None
    found = _pending(draft.raw, _mode())
    if found.version is None:
        return None
    store = _store()  # the site served, and its clock
    return _draft_site(found, store.moment(), store.site(), _mode())


@bp.get("/apercu/", defaults={"path": ""})
@bp.get("/apercu/<path:path>")
def preview_file(path: str) -> Any:
    """A URL of the draft's site; HTML pages get a banner and links kept in the preview."""
    # Styles, icon and scripts are the same files in every folder of this release, whatever
    # the draft: the served folder's, without reading the draft again (a page links five; each
    # took a second at 1,000 sessions).
    found = (_store().site(), _now()) if path.startswith("static/") else _preview()
    if found is None:
        return redirect(url_for("desk.draft_page"))
    site, dated = found
    # What the site serves, no more: not the parts kept for the next build (/_parts/).
    entry = site.entries.get("/" + path) if not path.startswith("_") else None
    if entry is None:
        abort(404)
    with site.open(entry, "identity") as handle:
        body = handle.read()
    kind = dict(entry.headers).get("Content-Type", "application/octet-stream")
    if kind.startswith("text/html"):
        body = preview.with_banner(body, url_for("desk.preview_file", path=""),
                                   url_for("desk.draft_page"),
                                   url_for("desk.static", filename="banner.css"),
                                   wording.short_moment(dated))
    # The download's own name, as the site sends it (a session's .ics is an attachment).
    own = [(k, v) for k, v in entry.headers if k == "Content-Disposition"]
    return Response(body, content_type=kind, headers=own)


@bp.get("/trop-volumineux")
def too_large() -> Any:
    """The 413 page, for nginx to show when it refuses a form (deploy/nginx: error_page)."""
    abort(413)


@bp.route("/", defaults={"path": ""}, methods=["POST", "PUT", "PATCH", "DELETE"])
@bp.route("/<path:path>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def unknown(path: str) -> Any:
    """Any other address or method under /desk/: the desk's own 404, with its headers, not
    the site's page (Werkzeug prefers this rule to a 405 of another)."""
    abort(404)


class DeskSessions(SecureCookieSessionInterface):
    """The login, read (then renewed, with Vary: Cookie) only for an address of the desk: over
    HTTPS its __Host- cookie is sent to the whole site, whose pages, 404s and redirects, cached
    by proxies and CDNs, must carry no editor's cookie."""

    def open_session(self, app: Flask, asked: Request) -> Any:
        """The desk's login under /desk; elsewhere Flask's null session, never saved."""
        if asked.path == bp.url_prefix or asked.path.startswith(f"{bp.url_prefix}/"):
            return super().open_session(app, asked)
        return self.make_null_session(app)


def register(app: Flask) -> None:
    """Serve the desk under /desk/ from `app`: session cookie settings, then the routes. The
    key of its cookies is AGENDA_SECRET, personal links' too: a missing or weak one is said here,
    once, when the app loads (not at each personal link's 403, a crawler's thousands)."""
    app.secret_key = app.secret_key or app.config.get("AGENDA_SECRET")
    try:
        personal.key(app.config.get("AGENDA_SECRET"))
    except personal.SecretError:
        log.warning("AGENDA_SECRET is %s (`agenda link` says why): personal links answer 403%s",
                    "too weak" if app.secret_key else "not set",
                    "" if app.secret_key else " and the desk is closed")
    secure = app.config.get("AGENDA_DESK_SECURE")
    if secure is None:
        try:
            calendar = tomli.loads(Path(app.config["AGENDA_DATA"]).read_text("utf-8"))
            secure = not str(calendar["calendar"]["base_url"]).startswith("http://")
        except (OSError, ValueError, KeyError, TypeError):
            secure = True
    app.config.update(
        # Over HTTPS, a __Host- cookie (Secure, Path=/, no Domain): no other subdomain of the
        # site's domain can set one in its place. Plain http (development) cannot have one.
        SESSION_COOKIE_NAME="__Host-agenda_desk" if secure else "agenda_desk",
        SESSION_COOKIE_PATH="/" if secure else "/desk",
        SESSION_COOKIE_DOMAIN=None,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        PERMANENT_SESSION_LIFETIME=LIFETIME,
        MAX_CONTENT_LENGTH=MOST_BYTES,  # the site itself takes no body
        # Werkzeug's other limits of a form (500,000 bytes a field, 1,000 fields sent as
        # multipart/form-data) answered 413 to a form well under the size its page says.
        MAX_FORM_MEMORY_SIZE=None,
        MAX_FORM_PARTS=None,
        WTF_CSRF_TIME_LIMIT=None,  # a form is good as long as the session
    )
    app.session_interface = DeskSessions()
    app.jinja_env.globals["_"] = _in_html
    app.register_blueprint(bp)
