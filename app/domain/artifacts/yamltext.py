"""A small YAML writer for CloudFormation templates (block style, every string double-quoted).

Pure (stdlib). app/domain must not import PyYAML, and a template is a tree of
dicts, lists, strings, booleans and integers, so this is all it needs. Every
string is a double-quoted scalar with YAML 1.1/1.2 escapes (quotes,
backslashes, control and non-ASCII characters escaped), so nothing in a value
can start a new key, a comment, an anchor, a tag or a document: whatever a
user typed stays one inert string. Keys that are not plain words (`Fn::Sub`)
are quoted the same way.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

_PLAIN_KEY = re.compile(r"[A-Za-z][A-Za-z0-9]*")
# Plain words YAML 1.1 reads as booleans or null (PyYAML, and so cfn-lint, does).
_RESERVED = re.compile(r"y|yes|n|no|true|false|on|off|null", re.IGNORECASE)

# Comment for a scalar list item, looked up under a given parent key.
Commenter = Callable[[str], str | None]


def quote(value: str) -> str:
    """A YAML double-quoted scalar for `value`, printable ASCII only.

    YAML double-quoted escapes: \\" \\\\ \\n \\t \\xHH \\uHHHH \\UHHHHHHHH
    (YAML 1.2 spec, 5.7 "Escaped Characters"; PyYAML implements the same set).
    """
    out = ['"']
    for char in value:
        code = ord(char)
        if char == '"':
            out.append('\\"')
        elif char == "\\":
            out.append("\\\\")
        elif 0x20 <= code <= 0x7E:
            out.append(char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif code <= 0xFF:
            out.append(f"\\x{code:02x}")
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


def comment(text: str) -> str:
    """A comment line's text: one line, printable ASCII (anything else becomes '?')."""
    return "".join(c if 0x20 <= ord(c) <= 0x7E else "?" for c in text)


def _key(key: str) -> str:
    return key if _PLAIN_KEY.fullmatch(key) and not _RESERVED.fullmatch(key) else quote(key)


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if value is None:
        return "null"
    if isinstance(value, str):
        return quote(value)
    raise TypeError(f"cannot write {type(value).__name__} as YAML")


def _empty(value: Any) -> str | None:
    if isinstance(value, Mapping) and not value:
        return "{}"
    if isinstance(value, list | tuple) and not value:
        return "[]"
    return None


def dump(
    value: Mapping[str, Any],
    *,
    header: Sequence[str] = (),
    comments: Mapping[str, Commenter] | None = None,
) -> str:
    """Write a mapping as a YAML document.

    `header` lines become comments at the top; `comments` maps a key (such as
    "Action") to a function giving a comment for each string listed under it.
    """
    lines = [f"# {comment(line)}".rstrip() for line in header]
    _mapping(value, 0, lines, comments or {})
    return "\n".join(lines) + "\n"


def _mapping(
    value: Mapping[str, Any], indent: int, lines: list[str], comments: Mapping[str, Commenter]
) -> None:
    pad = " " * indent
    for key, item in value.items():
        if not isinstance(key, str):
            raise TypeError("YAML keys must be strings")
        empty = _empty(item)
        if empty is not None:
            lines.append(f"{pad}{_key(key)}: {empty}")
        elif isinstance(item, Mapping):
            lines.append(f"{pad}{_key(key)}:")
            _mapping(item, indent + 2, lines, comments)
        elif isinstance(item, list | tuple):
            lines.append(f"{pad}{_key(key)}:")
            # A statement with a Principal is a trust policy's: its actions are the service's documented
            # set, and the comments (why an identity policy grants an action) would mislead there.
            commenter = None if "Principal" in value else comments.get(key)
            _sequence(item, indent + 2, lines, comments, commenter)
        else:
            lines.append(f"{pad}{_key(key)}: {_scalar(item)}")


def _sequence(
    value: Sequence[Any],
    indent: int,
    lines: list[str],
    comments: Mapping[str, Commenter],
    commenter: Commenter | None,
) -> None:
    pad = " " * indent
    for item in value:
        empty = _empty(item)
        if empty is not None:
            lines.append(f"{pad}- {empty}")
        elif isinstance(item, Mapping):
            # "- " then the mapping's keys, aligned two columns in.
            start = len(lines)
            _mapping(item, indent + 2, lines, comments)
            first = lines[start]
            lines[start] = f"{pad}- {first[indent + 2 :]}"
        elif isinstance(item, list | tuple):
            lines.append(f"{pad}-")
            _sequence(item, indent + 2, lines, comments, None)
        else:
            note = commenter(item) if commenter is not None and isinstance(item, str) else None
            if note:
                lines.append(f"{pad}# {comment(note)}")
            lines.append(f"{pad}- {_scalar(item)}")
