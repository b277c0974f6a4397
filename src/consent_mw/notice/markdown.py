"""Write a laid-out notice as CommonMark with GitHub-style tables.

Policy texts are escaped so that nothing in them becomes markup: markdown
renderers pass raw HTML through, so a ``<`` must never reach them bare.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from .layout import (
    Block,
    Bullets,
    Code,
    Details,
    Document,
    Line,
    Link,
    Para,
    Sub,
    Table,
)

__all__ = ["to_markdown"]

# Backslash-escaping any ASCII punctuation is valid CommonMark; these are the
# characters that can start markup in the middle of a line.
_INLINE = re.compile(r"([\\`*_\[\]<>|~#&])")
# ...and these only at the start of a line (lists, headings, setext underlines).
_LEADING = re.compile(r"^(\s*)([-+=]|\d+(?=[.)]))")


def _text(text: str) -> str:
    text = re.sub(r"\s+", " ", text)
    return _LEADING.sub(lambda m: m.group(1) + "\\" + m.group(2), _INLINE.sub(r"\\\1", text))


def _code(text: str, *, in_table: bool) -> str:
    text = re.sub(r"\s+", " ", text)
    if in_table:
        # GFM splits cells on `|` before it reads code spans.
        text = text.replace("|", "\\|")
    run = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (run + 1)
    pad = " " if run or text.startswith(" ") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _url(href: str) -> str:
    # Inside <…> a destination may not hold spaces, angle brackets or line breaks.
    return quote(href, safe=":/?#[]@!$&'()*+,;=%~")


def _line(line: Line, *, in_table: bool = False) -> str:
    out = []
    for part in line:
        if isinstance(part, Code):
            out.append(_code(part.text, in_table=in_table))
        elif isinstance(part, Link):
            out.append(f"[{_text(part.text)}](<{_url(part.href)}>)")
        else:
            out.append(_text(part))
    return "".join(out)


def _table(table: Table) -> str:
    head = "| " + " | ".join(_text(h) for h in table.headers) + " |"
    rule = "|" + "|".join("---" for _ in table.headers) + "|"
    rows = [
        "| " + " | ".join(_line(cell, in_table=True) or " " for cell in row) + " |"
        for row in table.rows
    ]
    return "\n".join([f"**{_text(table.caption)}**", "", head, rule, *rows])


def _action(link: Link, post_note: str) -> str:
    if link.method == "post":
        return f"- {_text(link.text)}: `POST {_url(link.href)}` ({_text(post_note)})"
    return f"- [{_text(link.text)}](<{_url(link.href)}>)"


def _block(block: Block, post_note: str) -> str:
    if isinstance(block, Para):
        return _text(block.text)
    if isinstance(block, Bullets):
        return "\n".join(f"- {_line(item)}" for item in block.items)
    if isinstance(block, Table):
        return _table(block)
    if isinstance(block, Details):
        return "\n".join(f"- **{_text(term)}**: {_line(value)}" for term, value in block.items)
    if isinstance(block, Sub):
        return f'<a id="{block.id}"></a>\n\n### {_text(block.heading)}'
    return "\n".join(_action(link, post_note) for link in block.links)


def to_markdown(doc: Document, *, post_note: str) -> str:
    parts = [f"# {_text(doc.title)}", _text(doc.meta), *(_text(p) for p in doc.intro)]
    if doc.languages:
        links = ", ".join(f"[{_text(x.text)}](<{_url(x.href)}>)" for x in doc.languages)
        parts.append(f"{_text(doc.languages_label)}: {links}")
    toc = [f"{i}. [{_text(s.heading)}](#{s.id})" for i, s in enumerate(doc.sections, 1)]
    parts += [f"## {_text(doc.contents)}", "\n".join(toc)]
    for section in doc.sections:
        # An explicit anchor: renderers derive heading ids differently (and not from Hangul).
        parts.append(f'<a id="{section.id}"></a>\n\n## {_text(section.heading)}')
        parts += [_block(b, post_note) for b in section.blocks]
    return "\n\n".join(parts) + "\n"
