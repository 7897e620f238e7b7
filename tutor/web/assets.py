"""The page's package data (tutor/web/static/, tutor/web/templates/; see pyproject's package-data)."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from string import Template


def static_text(name: str) -> str:
    """A file of tutor/web/static/: the page's CSS, its scripts, the chat's intro."""
    return (files("tutor") / "web" / "static" / name).read_text(encoding="utf-8")


@cache
def template(name: str) -> Template:
    """An HTML template of tutor/web/templates/ (`$name` placeholders): fill it with text already escaped."""
    return Template((files("tutor") / "web" / "templates" / name).read_text(encoding="utf-8").strip())


@cache
def fragment(name: str, *fields: str) -> str:
    """`template(name)` as a %-format string, for a fragment filled once per line of a note: `fragment(name, *fields)
    % values` costs what an f-string does, `Template.substitute` five times that (the Notes tab fills thousands).
    `fields` name its placeholders in the order they stand, which is the order of the values; fill it with text
    already escaped, as a template."""
    tpl = template(name)
    text, found, pieces, done = tpl.template, [], [], 0
    for match in tpl.pattern.finditer(text):
        pieces.append(text[done : match.start()].replace("%", "%%"))
        field = match.group("named") or match.group("braced")
        if match.group("invalid") is not None:
            raise ValueError(f"{name}: a lone $ at {match.start()}; write $$")
        pieces.append("$" if field is None else "%s")
        found += [field] if field else []
        done = match.end()
    if tuple(found) != fields:
        raise ValueError(f"{name}: its placeholders are {found}, not {list(fields)}")
    return "".join(pieces) + text[done:].replace("%", "%%")
