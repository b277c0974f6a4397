"""The streaming HTML rewriter against selectolax's lexbor parse + serialise, one run.

Pages, each ~100 KB, with nothing but ``necessary`` allowed and an injection, fed
in 16 KB chunks the way the middleware runs the rewriter; lexbor parses and
serialises the same bytes (``LexborHTMLParser(page).html``):

* ``article``: a few hundred ordinary tags (navigation, article paragraphs with
  links, images, a footer) — the page the targets are set for — with the usual
  tracker set (GA4, GTM with its noscript iframe, Meta Pixel with its noscript
  image, TikTok, Hotjar, HubSpot, Kakao, Naver) and without it;
* ``listing``: a tag-dense ticket listing (~2,000 tags), reported for information:
  the rewriter's cost grows with the number of "<" it must look at, lexbor's with
  the number of nodes.

"warm" is a running server: the rewriter remembers the tracker tags and snippets
a site repeats on every page; "cold" makes it forget them (and rebuild its
signature plan) before every page. The rewriter runs as installed: with the C
speedups (consent_mw.html._speedups) when they were built, which the first line says;
"pure Python" is the same rewriter without them (``CONSENT_MW_PURE_PYTHON=1``),
warm, for information. Rounds interleave the contenders so machine noise hits
them alike; figures are medians.

Targets (article page, warm): rewriter throughput >= 3x lexbor with trackers and
>= 10x without; peak extra memory (tracemalloc) while streaming a 10 MB page in
64 KB chunks < 1 MB. Exits 1 when a target is missed.
Run: ``python benchmarks/bench_rewrite.py``.

``--against REF`` compares instead the rewriter of the working tree with the one
at git ref ``REF`` (``main``, a commit), side by side in one process: each
copied out and imported under its own name, with its C extension built and
with ``CONSENT_MW_PURE_PYTHON=1``, warm and cold. All of them must give the same
bytes on every page; the table gives microseconds per page and the ratios.
Needs git and a C compiler.
"""

from __future__ import annotations

import importlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from selectolax.lexbor import LexborHTMLParser

from consent_mw.html import _pure, native
from consent_mw.html.rewrite import HTMLRewriter
from consent_mw.policy.model import Policy
from consent_mw.policy.trackers import BUILTIN_TRACKERS, Matcher

MATCHER = Matcher(BUILTIN_TRACKERS)
ALLOWED = frozenset({"necessary"})
INJECT = (
    b'<script src="/_consent/defaults.js"></script>'
    b'<script src="/_consent/banner.js" defer data-endpoint="/_consent"></script>'
)
CHUNK = 16 * 1024
ROUNDS = 15
PER_ROUND = 10
SIZE = 100 * 1024

HEAD_TRACKERS = """
<link rel="preconnect" href="https://www.googletagmanager.com">
<script async src="https://www.googletagmanager.com/gtag/js?id=G-ABC123"></script>
<script>
  window.dataLayer = window.dataLayer || [];
  function gtag(){dataLayer.push(arguments);}
  gtag('js', new Date());
  gtag('config', 'G-ABC123');
</script>
<script>(function(w,d,s,l,i){w[l]=w[l]||[];w[l].push({'gtm.start':
new Date().getTime(),event:'gtm.js'});var f=d.getElementsByTagName(s)[0],
j=d.createElement(s),dl=l!='dataLayer'?'&l='+l:'';j.async=true;j.src=
'https://www.googletagmanager.com/gtm.js?id='+i+dl;f.parentNode.insertBefore(j,f);
})(window,document,'script','dataLayer','GTM-XYZ');</script>
<script>
!function(f,b,e,v,n,t,s){if(f.fbq)return;n=f.fbq=function(){n.callMethod?
n.callMethod.apply(n,arguments):n.queue.push(arguments)};if(!f._fbq)f._fbq=n;
n.push=n;n.loaded=!0;n.version='2.0';n.queue=[];t=b.createElement(e);t.async=!0;
t.src=v;s=b.getElementsByTagName(e)[0];s.parentNode.insertBefore(t,s)}(window,
document,'script','https://connect.facebook.net/en_US/fbevents.js');
fbq('init', '1234567890');
fbq('track', 'PageView');
</script>
<noscript><img height="1" width="1" style="display:none"
src="https://www.facebook.com/tr?id=1234567890&ev=PageView&noscript=1"/></noscript>
<script>!function (w, d, t) {w.TiktokAnalyticsObject=t;var ttq=w[t]=w[t]||[];
ttq.load('C1');ttq.page();}(window, document, 'ttq');</script>
<script>(function(h,o,t,j,a,r){h.hj=h.hj||function(){(h.hj.q=h.hj.q||[]).push(arguments)};
h._hjSettings={hjid:1234,hjsv:6};a=o.getElementsByTagName('head')[0];
r=o.createElement('script');r.async=1;r.src=t+h._hjSettings.hjid+j+h._hjSettings.hjsv;
a.appendChild(r);})(window,document,'https://static.hotjar.com/c/hotjar-','.js?sv=');</script>
<script type="text/javascript" charset="UTF-8" src="//t1.daumcdn.net/kas/static/kp.js"></script>
<script type="text/javascript">kakaoPixel('1234567890').pageView();</script>
"""
BODY_TRACKERS = """
<noscript><iframe src="https://www.googletagmanager.com/ns.html?id=GTM-XYZ"
height="0" width="0" style="display:none;visibility:hidden"></iframe></noscript>
<script type="text/javascript" src="//wcs.naver.net/wcslog.js"></script>
<script type="text/javascript">if(!wcs_add) var wcs_add = {};wcs_add["wa"] = "s_abc";
if(window.wcs) { wcs_do(); }</script>
<script type="text/javascript" id="hs-script-loader" async defer
src="//js.hs-scripts.com/1234567.js"></script>
"""
WORDS = [
    *("공연", "예매", "좌석", "티켓", "lorem", "ipsum", "dolor", "sit", "amet", "consectetur"),
    *("adipiscing", "elit", "sed", "do", "eiusmod", "tempor", "incididunt", "ut", "labore"),
    *("et", "dolore", "magna", "aliqua"),
]


def words(count: int, seed: int) -> str:
    return " ".join(WORDS[(seed * 7 + i * 13) % len(WORDS)] for i in range(count))


def page(*, trackers: bool, dense: bool) -> bytes:
    """A ~100 KB page: an article (few hundred tags) or a listing (~2,000 tags)."""
    head = (
        '<meta charset="utf-8"><meta name="viewport" content="width=device-width">'
        "<title>Ticketbox — 공연 예매</title>"
        '<link rel="stylesheet" href="/static/site.css">'
        "<style>body{font:15px/1.5 sans-serif}.card>h2{margin:0}</style>"
        '<script src="/static/app.js" defer></script>'
        '<script>window.APP={"lang":"ko","user":null};</script>'
    )
    nav = "".join(f'<li><a href="/c/{i}">{words(2, i)}</a></li>' for i in range(12))
    parts = [
        f"<!DOCTYPE html>\n<html lang=ko>\n<head>\n{head}{HEAD_TRACKERS if trackers else ''}"
        f"</head>\n<body>\n<header><nav><ul>{nav}</ul></nav></header>\n<main>\n"
    ]
    i = 0
    while sum(len(p.encode()) for p in parts) < SIZE:
        if dense:
            parts.append(
                f'<div class="show s{i}"><a href="/shows/{i}">공연 {i}</a>'
                f'<img src="/posters/{i}.jpg" alt="poster {i}" loading="lazy">'
                f'<span class="price">₩{i * 1000:,}</span><p>Seats left: {i % 50}.</p></div>\n'
            )
        else:
            parts.append(
                f'<article id="a{i}"><h2><a href="/show/{i}">{words(5, i)}</a></h2>'
                f'<img src="/img/{i}.jpg" alt="{words(3, i)}" width="320" height="200">'
                f"<p>{words(150, i)}</p><p>{words(90, i + 1)} <em>{words(3, i)}</em> "
                f"{words(40, i + 2)}</p></article>\n"
            )
        i += 1
    parts.append("</main>\n<footer><p>&copy; Ticketbox</p></footer>\n")
    parts.append(f"{BODY_TRACKERS if trackers else ''}</body>\n</html>\n")
    return "".join(parts).encode()


def rewrite(html: bytes, matcher: Matcher = MATCHER) -> bytes:
    rewriter = HTMLRewriter(matcher, ALLOWED, inject=INJECT)
    out = [rewriter.feed(html[i : i + CHUNK]) for i in range(0, len(html), CHUNK)]
    out.append(rewriter.close())
    return b"".join(out)


def rewrite_pure(html: bytes) -> bytes:
    saved, native.skim = native.skim, _pure.skim
    try:
        return rewrite(html)
    finally:
        native.skim = saved


def rewrite_cold(html: bytes) -> bytes:
    # The rewriter's per-(matcher, allowed set) plan and its memory of tags and
    # snippets, forgotten: what the first page after start-up costs.
    MATCHER.plans.clear()
    return rewrite(html)


def lexbor(html: bytes) -> str:
    return LexborHTMLParser(html).html or ""


def timed(fn: Callable[[bytes], object], html: bytes) -> float:
    start = time.perf_counter()
    for _ in range(PER_ROUND):
        fn(html)
    return (time.perf_counter() - start) / PER_ROUND


def peak_memory() -> tuple[int, int, int]:
    """(peak extra bytes, bytes streamed, elements neutralised) for a 10 MB page."""
    row = (
        '<div class="row"><img src="/i.png" alt="x"><a href="/s">show</a>'
        '<img src="https://www.facebook.com/tr?id=1&ev=PageView">'
        "<script>fbq('track','ViewContent');</script><p>공연 예매 text</p></div>\n"
    ).encode()
    chunk = row * (64 * 1024 // len(row))
    count = 10 * 1024 * 1024 // len(chunk)
    rewriter = HTMLRewriter(MATCHER, ALLOWED, inject=INJECT)
    rewriter.feed(b"<!doctype html><html><head></head><body>")
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        for _ in range(count):
            rewriter.feed(chunk)
        rewriter.close()
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    return peak, count * len(chunk), rewriter.blocked


def main() -> int:
    pages = {
        (shape, trackers): page(trackers=trackers, dense=shape == "listing")
        for shape in ("article", "listing")
        for trackers in (True, False)
    }
    contenders: dict[str, Callable[[bytes], object]] = {
        "lexbor": lexbor,
        "warm": rewrite,
        "cold": rewrite_cold,
        "pure": rewrite_pure,
    }
    speedups = native.skim is not _pure.skim
    print(
        "rewriter steps: "
        + ("C speedups (consent_mw.html._speedups)" if speedups else "pure Python (no speedups)")
        + "\n"
    )
    for html in pages.values():  # warm-up
        for fn in contenders.values():
            fn(html)
    samples = {key: {name: [] for name in contenders} for key in pages}
    for _ in range(ROUNDS):
        for key, html in pages.items():
            for name, fn in contenders.items():
                samples[key][name].append(timed(fn, html))

    targets = {("article", True): 3.0, ("article", False): 10.0}
    ok = True
    print(
        "| page | trackers | size | tags | lexbor MB/s | rewriter MB/s warm (cold) "
        "| ratio warm (cold) | target | pure Python MB/s (ratio) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for key, html in pages.items():
        shape, trackers = key
        theirs = statistics.median(samples[key]["lexbor"])
        warm = statistics.median(samples[key]["warm"])
        cold = statistics.median(samples[key]["cold"])
        pure = statistics.median(samples[key]["pure"])
        target = targets.get(key)
        if target is not None:
            ok &= theirs / warm >= target
        print(
            f"| {shape} | {'yes' if trackers else 'no'} | {len(html) / 1024:.0f} KB "
            f"| {html.count(b'<') - html.count(b'</')} | {len(html) / theirs / 1e6:.0f} "
            f"| {len(html) / warm / 1e6:.0f} ({len(html) / cold / 1e6:.0f}) "
            f"| {theirs / warm:.1f}x ({theirs / cold:.1f}x) "
            f"| {f'>= {target:.0f}x' if target else 'info'} "
            f"| {len(html) / pure / 1e6:.0f} ({theirs / pure:.1f}x) |"
        )
    blocked = HTMLRewriter(MATCHER, ALLOWED)
    blocked.feed(pages[("article", True)])
    blocked.close()
    print(f"\nelements neutralised on the article page: {blocked.blocked}", end=" ")
    print(blocked.blocked_categories)
    embeds_table()
    peak, streamed, neutralised = peak_memory()
    print(
        f"peak extra memory streaming {streamed / 1e6:.1f} MB in 64 KB chunks: "
        f"{peak / 1024:.0f} KB (target < 1024 KB; {neutralised} elements neutralised)"
    )
    ok &= peak < 1024 * 1024
    print("PASS" if ok else "FAIL: a target is missed")
    return 0 if ok else 1


EMBEDS = (
    '<iframe width="560" height="315" src="https://www.youtube.com/embed/M7lc1UVf-VE"'
    ' title="video" allowfullscreen></iframe>'
    '<iframe src="https://www.google.com/maps/embed?pb=!1m18!1m12" width="100%" height="450"'
    ' style="border:0" loading="lazy"></iframe>'
    '<blockquote class="twitter-tweet"><a href="https://x.com/x/status/1">post</a></blockquote>'
    '<script async src="https://platform.twitter.com/widgets.js" charset="utf-8"></script>'
)


def embeds_table() -> None:
    """The article page with three embeds (YouTube, Google Maps, an X post), rewritten
    under a policy whose [embeds] holds them behind placeholders, against the same page
    under a policy without (embeds pass) and lexbor: for information."""
    html = page(trackers=True, dense=False).replace(b"</main>", EMBEDS.encode() + b"</main>")
    with_embeds = Policy.preset("gdpr", embeds={"category": "functional"}).matcher
    contenders: dict[str, Callable[[bytes], object]] = {
        "lexbor": lexbor,
        "without": rewrite,
        "with": lambda h: rewrite(h, with_embeds),
    }
    for fn in contenders.values():
        fn(html)
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(ROUNDS):
        for name, fn in contenders.items():
            samples[name].append(timed(fn, html))
    med = {name: statistics.median(v) for name, v in samples.items()}
    shown = rewrite(html, with_embeds).count(b'class="consent-embed"')
    print(
        f"\narticle page with trackers and 3 embeds ({shown} placeholders), warm:"
        f" lexbor {len(html) / med['lexbor'] / 1e6:.0f} MB/s;"
        f" rewriter with [embeds] {len(html) / med['with'] / 1e6:.0f} MB/s"
        f" ({med['lexbor'] / med['with']:.1f}x lexbor),"
        f" without {len(html) / med['without'] / 1e6:.0f} MB/s"
        f" ({med['lexbor'] / med['without']:.1f}x); with/without time"
        f" {med['with'] / med['without']:.2f}x"
    )


# -- --against REF: this tree's rewriter against another commit's -----------------------

ROOT = Path(__file__).resolve().parent.parent
_BUILD = (
    "from setuptools import Extension, setup; setup(name='copy', ext_modules=[Extension("
    "'{name}.html._speedups', ['{name}/html/_speedups.c'])])"
)


def load_copy(ref: str | None, name: str, pure: bool, into: Path) -> ModuleType:
    """consent_mw at git ``ref`` (None: the working tree) imported as ``name``:
    with its C extension built, or with CONSENT_MW_PURE_PYTHON=1."""
    into.mkdir()
    if ref is None:
        shutil.copytree(
            ROOT / "src/consent_mw",
            into / name,
            ignore=shutil.ignore_patterns("__pycache__", "*.so"),
        )
    else:
        archive = subprocess.run(
            ["git", "archive", ref, "src/consent_mw"], cwd=ROOT, capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
        (into / "src/consent_mw").rename(into / name)
    if not pure:
        subprocess.run(
            [sys.executable, "-c", _BUILD.format(name=name), "build_ext", "--inplace", "-q"],
            cwd=into,
            check=True,
            capture_output=True,
        )
    sys.path.insert(0, str(into))
    saved = os.environ.pop("CONSENT_MW_PURE_PYTHON", None)
    if pure:
        os.environ["CONSENT_MW_PURE_PYTHON"] = "1"
    try:
        return importlib.import_module(name)
    finally:
        os.environ.pop("CONSENT_MW_PURE_PYTHON", None)
        if saved is not None:
            os.environ["CONSENT_MW_PURE_PYTHON"] = saved


def copy_rewriter(package: ModuleType, cold: bool) -> Callable[[bytes], bytes]:
    """rewrite() with ``package``'s rewriter and tracker registry."""
    name = package.__name__
    rewriter = importlib.import_module(name + ".html.rewrite").HTMLRewriter
    trackers = importlib.import_module(name + ".policy.trackers")
    matcher = trackers.Matcher(trackers.BUILTIN_TRACKERS)
    # Where the memos of verdicts live, by version: on the matcher, or in a module.
    plans = getattr(matcher, "plans", None)
    if plans is None:
        try:
            plans = importlib.import_module(name + ".html.plan").PLANS
        except (ImportError, AttributeError):
            plans = importlib.import_module(name + ".html.rewrite")._PLANS

    def run(html: bytes) -> bytes:
        if cold:
            plans.clear()
        r = rewriter(matcher, ALLOWED, inject=INJECT)
        out = [r.feed(html[i : i + CHUNK]) for i in range(0, len(html), CHUNK)]
        out.append(r.close())
        return b"".join(out)

    return run


def _cell(med: dict[str, float], low: dict[str, float], a: str, b: str) -> str:
    return (
        f"{med[a]:.0f} → {med[b]:.0f} ({med[b] / med[a]:.2f}; "
        f"[{low[a]:.0f} → {low[b]:.0f}, {low[b] / low[a]:.2f}])"
    )


def against(ref: str) -> int:
    pages = {
        (shape, trackers): page(trackers=trackers, dense=shape == "listing")
        for shape in ("article", "listing")
        for trackers in (True, False)
    }
    contenders: dict[str, Callable[[bytes], bytes]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for side, tree in ((ref, ref), ("tree", None)):
            for kind in ("C", "py"):
                tag = f"{side}-{kind}".replace("/", "_").replace(".", "_").replace("-", "_")
                package = load_copy(tree, "cmw_" + tag, kind == "py", Path(tmp, tag))
                contenders[f"{side} {kind}"] = copy_rewriter(package, cold=False)
                if kind == "C":
                    contenders[f"{side} C cold"] = copy_rewriter(package, cold=True)
    for key, html in pages.items():
        outputs = {fn(html) for fn in contenders.values()}
        if len(outputs) != 1:
            print(f"FAIL: the rewriters differ on the {key} page")
            return 1
    samples: dict[tuple[str, bool], dict[str, list[float]]] = {
        key: {name: [] for name in contenders} for key in pages
    }
    for _ in range(ROUNDS * 2):
        for key, html in pages.items():
            for name, fn in contenders.items():
                samples[key][name].append(timed(fn, html))
    print(f"{ref} against the working tree: the same bytes on every page\n")
    print(f"µs per page, median of {ROUNDS * 2} rounds of {PER_ROUND} (minimum in brackets)\n")
    print(
        f"| page | trackers | C {ref} → tree (ratio) | pure Python {ref} → tree (ratio) "
        f"| C cold {ref} → tree (ratio) | pure/C {ref}, tree |"
    )
    print("|---|---|---|---|---|---|")
    for (shape, trackers), runs in samples.items():
        med = {name: statistics.median(v) * 1e6 for name, v in runs.items()}
        low = {name: min(v) * 1e6 for name, v in runs.items()}
        cells = [_cell(med, low, f"{ref} {kind}", f"tree {kind}") for kind in ("C", "py", "C cold")]
        print(
            f"| {shape} | {'yes' if trackers else 'no'} | {' | '.join(cells)} "
            f"| {med[f'{ref} py'] / med[f'{ref} C']:.1f}x, "
            f"{med['tree py'] / med['tree C']:.1f}x |"
        )
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--against"] and len(sys.argv) == 3:
        sys.exit(against(sys.argv[2]))
    sys.exit(main())
