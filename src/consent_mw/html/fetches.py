"""What makes a browser fetch: the elements and attributes the rewriter judges.

The table is read off the HTML standard, SVG 2 and CSS (``docs/rewriter.md``
lists each entry with the place it comes from and what the browser does); names
are lowercase, as the tokenizer gives them. An attribute's value is read as its
kind says:

* ``URL``: one URL (``src``, ``href``, ``poster``, ``data``, ``action``…);
* ``SRCSET``: a ``srcset`` list of image candidates;
* ``URLS``: URLs separated by whitespace (``ping``);
* ``CSS``: a declaration list (``style``), whose ``url()``/``image-set()`` fetch;
* ``REFRESH``: ``<meta http-equiv=refresh>``'s ``content``, a delay and a URL;
* ``HTML``: a document (``srcdoc``), rewritten as one.

A URL, SRCSET, URLS or REFRESH value that is neutralised is renamed
``data-consent-<name>`` (``xlink:href`` → ``data-consent-xlink-href``); a CSS or
HTML value is rewritten where it stands and its original kept in
``data-consent-<name>``: either way the banner puts it back after consent.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ANYWHERE",
    "CSS",
    "FETCHES",
    "GENERIC_TRIGGERS",
    "HTML",
    "MARKS",
    "REFRESH",
    "SPECIFIC",
    "SRCSET",
    "URL",
    "URLS",
    "moved",
]

URL, SRCSET, URLS, CSS, REFRESH, HTML = range(6)

_SVG_HREF: Final = {b"href": URL, b"xlink:href": URL}
_BACKGROUND: Final = {b"background": URL}

#: element name -> its attributes that fetch (or navigate without a click), by kind
FETCHES: Final[dict[bytes, dict[bytes, int]]] = {
    # HTML: embedded content, scripts, links
    b"script": {b"src": URL, **_SVG_HREF},
    b"img": {b"src": URL, b"srcset": SRCSET},
    b"image": {b"src": URL, b"srcset": SRCSET, **_SVG_HREF},
    b"iframe": {b"src": URL, b"srcdoc": HTML},
    b"frame": {b"src": URL},
    b"link": {b"href": URL, b"imagesrcset": SRCSET},
    b"source": {b"src": URL, b"srcset": SRCSET},
    b"embed": {b"src": URL},
    b"object": {b"data": URL},
    b"video": {b"src": URL, b"poster": URL},
    b"audio": {b"src": URL},
    b"track": {b"src": URL},
    b"input": {b"src": URL, b"formaction": URL},
    b"button": {b"formaction": URL},
    b"form": {b"action": URL},
    b"a": {b"ping": URLS},
    b"area": {b"ping": URLS},
    b"html": {b"manifest": URL},
    b"meta": {b"content": REFRESH},
    # SVG 2: the elements that load what their href names
    b"use": _SVG_HREF,
    b"feimage": _SVG_HREF,
    # the background image of the body and of tables (HTML's rendering section)
    b"body": _BACKGROUND,
    b"table": _BACKGROUND,
    b"thead": _BACKGROUND,
    b"tbody": _BACKGROUND,
    b"tfoot": _BACKGROUND,
    b"tr": _BACKGROUND,
    b"td": _BACKGROUND,
    b"th": _BACKGROUND,
}
#: on every element
ANYWHERE: Final = {b"style": CSS}

#: elements the candidate search looks at whenever an attribute value could name
#: a host (their fetch attributes are many, or common on them); every other
#: element only when one of GENERIC_TRIGGERS is there (see scan.candidates)
SPECIFIC: Final = frozenset(
    {
        *(b"img", b"image", b"link", b"source", b"embed", b"object", b"video", b"audio"),
        *(b"track", b"input", b"frame", b"use", b"feimage", b"form", b"button"),
    }
)
#: what makes any other start tag a candidate: these attributes with a value that
#: could name a host (``style``: one that could hold ``url(``/``image-set(``), or
#: ``http-equiv`` (a refresh) at all
GENERIC_TRIGGERS: Final = (b"style", b"background", b"ping", b"manifest", b"http-equiv")


def moved(name: bytes) -> bytes:
    """The name an attribute's neutralised value goes under."""
    return b"data-consent-" + name.replace(b":", b"-")


#: an element that carries one of these was neutralised already: left alone
#: (``data-consent-text``: a <style> element's original sheet)
MARKS: Final = frozenset(
    moved(name) for attrs in (*FETCHES.values(), ANYWHERE, {b"text": CSS}) for name in attrs
)
