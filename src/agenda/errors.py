"""The project's exceptions: one small hierarchy, each carrying a message a person can act on."""

from __future__ import annotations

from dataclasses import dataclass

from agenda.i18n import _

# Control characters as escapes (\n, \x1b): a value a problem quotes adds no line, nor hides one.
ESCAPED = {c: repr(chr(c))[1:-1] for c in (*range(32), *range(127, 160), 0x2028, 0x2029)}


class AgendaError(Exception):
    """Base of every error this package raises on purpose."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in a schedule file: where it is and what would be valid."""

    source: str
    where: str
    field: str
    message: str

    def __str__(self) -> str:
        field = _("field {name}", name=self.field) if self.field else ""
        place = ", ".join([self.source, *(part for part in (self.where, field) if part)])
        return _("{place}: {message}", place=place, message=self.message).translate(ESCAPED)


class ScheduleError(AgendaError, ValueError):
    """The schedule file cannot be used; `problems` lists every reason found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
