"""Find JavaScript-style `//` comments in Python source, and parse the source without them.

Seed 001 carries one (`// Additional resources can be added here`): Python reads `//` as floor
division, so the file does not parse. The loader records each such comment (for lint's RS001 and
`fix`) and parses what is left.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from restsync.errors import ConfigSyntaxError

__all__ = ["COMMENT", "Slash", "parse_python", "scan_slashes"]

COMMENT_OPENERS = frozenset(",([{:=")  # after these (or at a line's start) `//` cannot divide
COMMENT = "//"


@dataclass(frozen=True)
class Slash:
    line: int  # 1-based, in the text being read
    column: int
    certain: bool  # at a line's start or after `,([{:=`: cannot be floor division


def scan_slashes(text: str) -> list[Slash]:
    """`//` outside strings and `#` comments, each judged a comment for certain or maybe."""
    found: list[Slash] = []
    i, line, line_start, quote, last = 0, 1, 0, "", ""
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif text.startswith(quote, i):
                i, quote, last = i + len(quote) - 1, "", "x"
            if i < len(text) and text[i] == "\n":
                line, line_start = line + 1, i + 1
            i += 1
            continue
        if ch == "\n":
            line, line_start, last = line + 1, i + 1, ""
        elif ch == "#" or text.startswith(COMMENT, i):
            if ch != "#":
                found.append(Slash(line, i - line_start, last == "" or last in COMMENT_OPENERS))
            end = text.find("\n", i)
            i = len(text) if end < 0 else end
            continue
        elif ch in "\"'":
            quote = text[i : i + 3] if text[i : i + 3] in ('"""', "'''") else ch
            i += len(quote)
            continue
        elif not ch.isspace():
            last = ch
        i += 1
    return found


def parse_python(text: str, path: Path | None, offset: int) -> tuple[ast.Module, list[Slash]]:
    """Parse without the certain `//` comments, then without each maybe-comment that breaks it."""
    slashes = scan_slashes(text)
    cut = [s for s in slashes if s.certain]
    while True:
        lines = text.split("\n")
        for slash in cut:
            lines[slash.line - 1] = lines[slash.line - 1][: slash.column].rstrip()
        try:
            return ast.parse("\n".join(lines)), cut
        except SyntaxError as exc:
            maybe = [s for s in slashes if s not in cut and s.line == exc.lineno]
            if not maybe:
                line = exc.lineno + offset if exc.lineno is not None else None
                raise ConfigSyntaxError(f"invalid Python: {exc.msg}", line=line, path=path) from exc
            cut.append(maybe[0])
