"""Write a laid-out notice as one accessible, script-free HTML document.

Every text and attribute goes through :func:`html.escape`; the only markup
is ours. The style sheet is a ``<style>`` element (no ``style=`` attributes)
so that a strict ``style-src 'nonce-…'`` Content-Security-Policy admits it.
"""

from __future__ import annotations

from html import escape

from .layout import (
    Block,
    Bullets,
    Code,
    Details,
    Document,
    Line,
    Link,
    Para,
    Section,
    Sub,
    Table,
)

__all__ = ["CSS", "to_html"]

CSS = """\
:root{color-scheme:light dark;--line:#8886}
body{font:16px/1.6 system-ui,-apple-system,"Segoe UI","Apple SD Gothic Neo","Malgun Gothic",\
sans-serif;margin:0;padding:1rem}
main{max-width:52rem;margin:0 auto}
h1{font-size:1.8rem;line-height:1.3}
h2{font-size:1.35rem;margin-top:2.5rem;border-bottom:1px solid var(--line)}
h3{font-size:1.1rem;margin-top:1.5rem}
table{border-collapse:collapse;width:100%;margin:1rem 0;overflow-wrap:anywhere}
caption{text-align:left;font-weight:600;padding:.25rem 0}
th,td{border:1px solid var(--line);padding:.35rem .5rem;text-align:left;vertical-align:top}
thead th{background:#8881}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}
dt{font-weight:600}
dd{margin:0}
.meta{font-size:.95rem;opacity:.85}
.actions{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.5rem}
.actions a,.actions button{display:inline-block;font:inherit;padding:.4rem .8rem;\
border:1px solid currentColor;border-radius:.3rem;background:none;color:inherit;\
cursor:pointer;text-decoration:none}
.actions form{margin:0}
a:focus-visible,button:focus-visible{outline:3px solid #1a73e8;outline-offset:2px}
@media (max-width:40rem){dl{grid-template-columns:1fr}}
@media print{
body{font-size:11pt;padding:0;color:#000;background:#fff}
nav,.actions{display:none}
h2{break-after:avoid}
tr,dl{break-inside:avoid}
thead{display:table-header-group}
a[href^="http"]::after{content:" (" attr(href) ")";font-size:.9em}
}
"""


def _line(line: Line) -> str:
    out = []
    for part in line:
        if isinstance(part, Code):
            out.append(f"<code>{escape(part.text)}</code>")
        elif isinstance(part, Link):
            out.append(f'<a href="{escape(part.href)}">{escape(part.text)}</a>')
        else:
            out.append(escape(part))
    return "".join(out)


def _table(table: Table) -> str:
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in table.headers)
    rows = []
    for row in table.rows:
        first, *rest = row
        cells = "".join(f"<td>{_line(cell)}</td>" for cell in rest)
        rows.append(f'<tr><th scope="row">{_line(first)}</th>{cells}</tr>')
    return (
        f"<table>\n<caption>{escape(table.caption)}</caption>\n"
        f"<thead><tr>{head}</tr></thead>\n<tbody>\n" + "\n".join(rows) + "\n</tbody>\n</table>"
    )


def _action(link: Link) -> str:
    if link.method == "post":
        # A real form: deleting and withdrawing change state, so they are never a GET link.
        return (
            f'<li><form method="post" action="{escape(link.href)}">'
            f'<button type="submit">{escape(link.text)}</button></form></li>'
        )
    return f'<li><a href="{escape(link.href)}">{escape(link.text)}</a></li>'


def _block(block: Block) -> str:
    if isinstance(block, Para):
        return f"<p>{escape(block.text)}</p>"
    if isinstance(block, Bullets):
        return "<ul>\n" + "\n".join(f"<li>{_line(i)}</li>" for i in block.items) + "\n</ul>"
    if isinstance(block, Table):
        return _table(block)
    if isinstance(block, Details):
        items = "\n".join(
            f"<dt>{escape(term)}</dt><dd>{_line(value)}</dd>" for term, value in block.items
        )
        return f"<dl>\n{items}\n</dl>"
    if isinstance(block, Sub):
        return f'<h3 id="{escape(block.id)}">{escape(block.heading)}</h3>'
    return '<ul class="actions">\n' + "\n".join(_action(a) for a in block.links) + "\n</ul>"


def _section(section: Section) -> str:
    sid = escape(section.id)
    body = "\n".join(_block(b) for b in section.blocks)
    return (
        f'<section aria-labelledby="{sid}">\n<h2 id="{sid}">{escape(section.heading)}</h2>\n'
        f"{body}\n</section>"
    )


def to_html(doc: Document, *, nonce: str | None = None) -> str:
    nonce_attr = f' nonce="{escape(nonce)}"' if nonce else ""
    languages = ""
    if doc.languages:
        items = "".join(
            f'<li><a href="{escape(link.href)}" hreflang="{escape(link.lang)}" '
            f'lang="{escape(link.lang)}">{escape(link.text)}</a></li>'
            for link in doc.languages
        )
        languages = f'<nav aria-label="{escape(doc.languages_label)}"><ul>{items}</ul></nav>\n'
    toc = "".join(
        f'<li><a href="#{escape(s.id)}">{escape(s.heading)}</a></li>' for s in doc.sections
    )
    intro = "".join(f"<p>{escape(p)}</p>\n" for p in doc.intro)
    sections = "\n".join(_section(s) for s in doc.sections)
    return (
        "<!doctype html>\n"
        f'<html lang="{escape(doc.lang)}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(doc.title)}</title>\n"
        f"<style{nonce_attr}>\n{CSS}</style>\n</head>\n<body>\n<main>\n"
        f"<h1>{escape(doc.title)}</h1>\n"
        f'<p class="meta">{escape(doc.meta)}</p>\n'
        f"{intro}{languages}"
        f'<nav aria-labelledby="contents">\n<h2 id="contents">{escape(doc.contents)}</h2>\n'
        f"<ol>{toc}</ol>\n</nav>\n"
        f"{sections}\n</main>\n</body>\n</html>\n"
    )
