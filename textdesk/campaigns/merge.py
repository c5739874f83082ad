"""Merge fields in message templates: ``{first_name}``, with a fallback ``{first_name|there}``.

``{{`` and ``}}`` stand for literal braces. A field is filled from the contact (see
``Contact.merge_values``); when it is empty, the fallback is used; when there is no fallback
either, the field is *missing* for that contact, which compose reports (and can exclude).
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from textdesk.contacts.models import BUILT_IN_FIELDS

TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class TemplateError(ValueError):
    """A template that cannot be used, said plainly."""


@dataclass(frozen=True)
class MergeField:
    name: str
    fallback: str | None


@dataclass(frozen=True)
class Rendered:
    text: str
    missing: tuple[str, ...]  # fields that had neither a value nor a fallback


def parse(body: str) -> list[str | MergeField]:
    """The template as literal text and merge fields; TemplateError for broken syntax."""
    parts: list[str | MergeField] = []
    position = 0
    for match in TOKEN.finditer(body):
        parts.append(body[position : match.start()])
        token = match.group(0)
        if token in ("{{", "}}"):
            parts.append(token[0])
        elif token in ("{", "}"):
            raise TemplateError(
                f"A lone “{token}” at character {match.start() + 1}: write {token}{token} for a "
                "brace, or close the merge field."
            )
        else:
            inner = match.group(1)
            name, bar, fallback = inner.partition("|")
            name = name.strip()
            if not NAME.fullmatch(name):
                raise TemplateError(f"“{{{inner}}}” is not a merge field (e.g. {{first_name}}).")
            parts.append(MergeField(name, fallback.strip() if bar else None))
        position = match.end()
    parts.append(body[position:])
    return [part for part in parts if part != ""]


def fields_in(body: str) -> list[MergeField]:
    return [part for part in parse(body) if isinstance(part, MergeField)]


def check_fields(body: str, known: set[str]) -> None:
    """TemplateError naming every merge field that ``known`` does not have."""
    unknown = sorted({f.name for f in fields_in(body)} - known - set(BUILT_IN_FIELDS))
    if unknown:
        listed = ", ".join(f"{{{name}}}" for name in unknown)
        raise TemplateError(f"Unknown merge field{'s' if len(unknown) > 1 else ''}: {listed}.")


@lru_cache(maxsize=256)
def _parsed(body: str) -> tuple[str | MergeField, ...]:
    return tuple(parse(body))


def render(body: str, values: Mapping[str, str]) -> Rendered:
    out: list[str] = []
    missing: list[str] = []
    for part in _parsed(body):  # a send renders one body 100,000 times
        if isinstance(part, str):
            out.append(part)
            continue
        value = (values.get(part.name) or "").strip()
        if value:
            out.append(value)
        elif part.fallback is not None:
            out.append(part.fallback)
        elif part.name not in missing:
            missing.append(part.name)
    return Rendered("".join(out), tuple(missing))
