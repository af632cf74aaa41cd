"""A small HCL (Terraform) writer: blocks, attributes, and values that stay literal.

Pure (stdlib). Strings are quoted template literals with every escape HCL
defines (HCL native syntax spec, "Template Literals" and "Template
Interpolations"): backslash escapes for quotes, backslashes and control or
non-ASCII characters, and `$${` / `%%{` so a `${` or `%{` in a value is never an
interpolation or directive. Expressions we write ourselves (references such as
`aws_iam_user.connector.name`) are marked with `Expr` and written as they are.
https://github.com/hashicorp/hcl/blob/main/hclsyntax/spec.md
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .yamltext import comment

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")

Commenter = Callable[[str], str | None]


class Expr(str):
    """An HCL expression written verbatim (only ever built from our own constants)."""

    __slots__ = ()


def quote(value: str) -> str:
    out = ['"']
    i = 0
    while i < len(value):
        char = value[i]
        code = ord(char)
        if char in "$%" and value[i + 1 : i + 2] == "{":
            out.append(char + char + "{")
            i += 2
            continue
        if char == '"':
            out.append('\\"')
        elif char == "\\":
            out.append("\\\\")
        elif 0x20 <= code <= 0x7E:
            out.append(char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif char == "\t":
            out.append("\\t")
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
        i += 1
    out.append('"')
    return "".join(out)


def _key(key: str) -> str:
    return key if _IDENTIFIER.fullmatch(key) else quote(key)


@dataclass
class Block:
    """`type "label" ... { body }`; body items are (name, value) attributes or nested Blocks."""

    type: str
    labels: tuple[str, ...] = ()
    body: list[tuple[str, Any] | Block | Comment] = field(default_factory=list)


@dataclass(frozen=True)
class Comment:
    text: str


def value(
    item: Any, indent: int = 0, comments: Mapping[str, Commenter] | None = None, parent: str = ""
) -> str:
    """An HCL expression for a Python value."""
    comments = comments or {}
    pad = " " * indent
    if isinstance(item, Expr):
        return str(item)
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, int):
        return str(item)
    if item is None:
        return "null"
    if isinstance(item, str):
        return quote(item)
    if isinstance(item, Mapping):
        if not item:
            return "{}"
        # A trust statement's actions get no comments (see yamltext._mapping).
        inner = {} if "Principal" in item else comments
        rendered = [(_key(key), value(sub, indent + 2, inner, key)) for key, sub in item.items()]
        lines = ["{", *_aligned(rendered, f"{pad}  "), f"{pad}}}"]
        return "\n".join(lines)
    if isinstance(item, list | tuple):
        if not item:
            return "[]"
        commenter = comments.get(parent)
        notes = [commenter(s) if commenter is not None and isinstance(s, str) else None for s in item]
        scalars = all(isinstance(s, str | bool | int) for s in item)
        if scalars and not any(notes):
            inline = "[" + ", ".join(value(s) for s in item) + "]"
            if len(inline) <= 80:
                return inline
        lines = ["["]
        for sub, note in zip(item, notes, strict=True):
            if note:
                lines.append(f"{pad}  # {comment(note)}")
            lines.append(f"{pad}  {value(sub, indent + 2, comments)},")
        lines.append(f"{pad}]")
        return "\n".join(lines)
    raise TypeError(f"cannot write {type(item).__name__} as HCL")


def _aligned(items: Sequence[tuple[str, str]], pad: str) -> list[str]:
    """`key = value` lines aligned as `terraform fmt` does.

    Consecutive single-line attributes share one column for "="; an attribute
    whose value spans lines stands alone and ends the run.
    """
    lines: list[str] = []
    run: list[tuple[str, str]] = []

    def flush() -> None:
        width = max((len(k) for k, _ in run), default=0)
        lines.extend(f"{pad}{k.ljust(width)} = {v}" for k, v in run)
        run.clear()

    for key, text in items:
        if "\n" in text:
            flush()
            lines.append(f"{pad}{key} = {text}")
        else:
            run.append((key, text))
    flush()
    return lines


def render_block(block: Block, indent: int = 0, comments: Mapping[str, Commenter] | None = None) -> str:
    pad = " " * indent
    head = " ".join([block.type, *(quote(label) for label in block.labels)])
    if not block.body:
        return f"{pad}{head} {{}}"
    lines = [f"{pad}{head} {{"]
    attrs: list[tuple[str, str]] = []
    previous_was_block = False
    for item in block.body:
        if isinstance(item, tuple):
            if previous_was_block:
                lines.append("")
                previous_was_block = False
            name, sub = item
            attrs.append((_key(name), value(sub, indent + 2, comments, name)))
            continue
        lines += _aligned(attrs, f"{pad}  ")
        attrs = []
        if isinstance(item, Comment):
            if previous_was_block:
                lines.append("")
            lines.append(f"{pad}  # {comment(item.text)}")
            previous_was_block = False
        else:
            if len(lines) > 1 and not lines[-1].lstrip().startswith("#"):
                lines.append("")
            lines.append(render_block(item, indent + 2, comments))
            previous_was_block = True
    lines += _aligned(attrs, f"{pad}  ")
    lines.append(f"{pad}}}")
    return "\n".join(lines)


def render(items: Sequence[Block | Comment], comments: Mapping[str, Commenter] | None = None) -> str:
    """A whole file: top-level blocks separated by blank lines, comments kept with the next block."""
    parts: list[str] = []
    pending: list[str] = []
    for item in items:
        if isinstance(item, Comment):
            pending.append(f"# {comment(item.text)}".rstrip())
        else:
            parts.append("\n".join([*pending, render_block(item, 0, comments)]))
            pending = []
    if pending:
        parts.append("\n".join(pending))
    return "\n\n".join(parts) + "\n"
