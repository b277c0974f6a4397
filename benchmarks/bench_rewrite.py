"""The streaming HTML rewriter against selectolax's lexbor parse + serialise, one run.

Two ~100 KB pages with a few hundred ordinary tags: one with the usual tracker
set (GA/gtag, GTM, Meta pixel + noscript image, TikTok, Hotjar, Kakao, Naver),
one without trackers. The rewriter streams each in 16 KB chunks with nothing
but ``necessary`` allowed and an injection, the way the middleware runs it;
lexbor parses and serialises the same bytes. Rounds interleave the two so
machine noise hits both alike; figures are medians.

Targets: rewriter throughput >= 3x lexbor with trackers, >= 10x without;
peak extra memory while streaming a 10 MB page in 64 KB chunks < 1 MB.
Run: ``python benchmarks/bench_rewrite.py``.
"""

from __future__ import annotations

import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable

from selectolax.lexbor import LexborHTMLParser

from consent_mw.rewrite import HTMLRewriter
from consent_mw.trackers import BUILTIN_TRACKERS, Matcher

MATCHER = Matcher(BUILTIN_TRACKERS)
ALLOWED = frozenset({"necessary"})
INJECT = (
    b'<script src="/_consent/defaults.js"></script>'
    b'<script src="/_consent/banner.js" defer></script>'
)
CHUNK = 16 * 1024
ROUNDS = 15

TRACKER_TAGS = """
<script async src="https://www.googletagmanager.com/gtag/js?id=G-ABC123"></script>
<script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments);}
gtag('js',new Date());gtag('config','G-ABC123');</script>
<script>(function(w,d,s,l,i){w[l]=w[l]||[];w[l].push({'gtm.start':new Date().getTime()});
var f=d.getElementsByTagName(s)[0],j=d.createElement(s);j.async=true;
j.src='https://www.googletagmanager.com/gtm.js?id='+i;f.parentNode.insertBefore(j,f);
})(window,document,'script','dataLayer','GTM-XYZ');</script>
<script>!function(f,b,e,v,n,t,s){if(f.fbq)return;n=f.fbq=function(){n.callMethod?
n.callMethod.apply(n,arguments):n.queue.push(arguments)};t=b.createElement(e);t.async=!0;
t.src=v;s=b.getElementsByTagName(e)[0];s.parentNode.insertBefore(t,s)}(window,document,
'script','https://connect.facebook.net/en_US/fbevents.js');fbq('init','1');fbq('track','PageView');
</script>
<noscript><img height="1" width="1" src="https://www.facebook.com/tr?id=1&ev=PageView&noscript=1"></noscript>
<script>!function (w, d, t) {w.TiktokAnalyticsObject=t;var ttq=w[t]=w[t]||[];ttq.load('C1');
ttq.page();}(window, document, 'ttq');</script>
<script>(function(h,o,t,j,a,r){h.hj=h.hj||function(){(h.hj.q=h.hj.q||[]).push(arguments)};
h._hjSettings={hjid:1,hjsv:6};})(window,document,'https://static.hotjar.com/c/hotjar-','.js?sv=');</script>
<script type="text/javascript" charset="UTF-8" src="//t1.daumcdn.net/kas/static/kp.js"></script>
<script type="text/javascript">kakaoPixel('1234').pageView();</script>
<script type="text/javascript" src="//wcs.naver.net/wcslog.js"></script>
<script type="text/javascript">if(!wcs_add) var wcs_add = {};wcs_add["wa"] = "abc";
wcs_do();</script>
"""


def ordinary_rows(count: int) -> str:
    return "".join(
        f'<div class="show s{i}"><a href="/shows/{i}">공연 {i}</a>'
        f'<img src="/posters/{i}.jpg" alt="poster {i}" loading="lazy">'
        f'<span class="price">₩{i * 1000:,}</span><p>Seats left: {i % 50}. '
        "Lorem ipsum dolor sit amet, consectetur adipiscing elit.</p></div>\n"
        for i in range(count)
    )


def build_page(with_trackers: bool) -> bytes:
    head = (
        '<meta charset="utf-8"><title>Ticketbox</title><link rel="stylesheet" href="/site.css">'
        '<script src="/app.js" defer></script>'
    )
    trackers = TRACKER_TAGS if with_trackers else ""
    rows = ordinary_rows(1)
    size = 100 * 1024
    count = size // len(rows.encode())
    html = (
        f"<!doctype html><html lang=ko><head>{head}{trackers}</head><body>"
        f"<header><nav><a href=/>Home</a></nav></header>{ordinary_rows(count)}"
        f"{trackers}</body></html>"
    )
    return html.encode()


def rewrite(page: bytes) -> bytes:
    rewriter = HTMLRewriter(MATCHER, ALLOWED, inject=INJECT)
    out = [rewriter.feed(page[i : i + CHUNK]) for i in range(0, len(page), CHUNK)]
    out.append(rewriter.close())
    return b"".join(out)


def lexbor(page: bytes) -> str:
    return LexborHTMLParser(page).html or ""


def timed(fn: Callable[[bytes], object], page: bytes, repeat: int) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        fn(page)
    return (time.perf_counter() - start) / repeat


def peak_memory() -> tuple[int, int]:
    row = ordinary_rows(1).encode() + b'<img src="https://www.facebook.com/tr?id=1">\n'
    chunk = row * (64 * 1024 // len(row))
    total_chunks = 10 * 1024 * 1024 // len(chunk)
    rewriter = HTMLRewriter(MATCHER, ALLOWED, inject=INJECT)
    rewriter.feed(b"<!doctype html><html><head></head><body>")
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    for _ in range(total_chunks):
        rewriter.feed(chunk)
    rewriter.close()
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak, total_chunks * len(chunk)


def main() -> int:
    pages = {"with trackers": build_page(True), "without trackers": build_page(False)}
    blocked = HTMLRewriter(MATCHER, ALLOWED)
    blocked.feed(pages["with trackers"])
    blocked.close()
    samples: dict[str, dict[str, list[float]]] = {
        name: {"rewriter": [], "lexbor": []} for name in pages
    }
    for page in pages.values():  # warm-up
        rewrite(page)
        lexbor(page)
    for _ in range(ROUNDS):
        for name, page in pages.items():
            samples[name]["rewriter"].append(timed(rewrite, page, 10))
            samples[name]["lexbor"].append(timed(lexbor, page, 10))

    targets = {"with trackers": 3.0, "without trackers": 10.0}
    ok = True
    print("| page | size | rewriter MB/s | lexbor MB/s | ratio | target |")
    print("|---|---|---|---|---|---|")
    for name, page in pages.items():
        ours = statistics.median(samples[name]["rewriter"])
        theirs = statistics.median(samples[name]["lexbor"])
        ratio = theirs / ours
        ok &= ratio >= targets[name]
        print(
            f"| {name} | {len(page) / 1024:.0f} KB | {len(page) / ours / 1e6:.0f} | "
            f"{len(page) / theirs / 1e6:.0f} | {ratio:.1f}x | >= {targets[name]:.0f}x |"
        )
    print(f"\nelements neutralised on the tracker page: {blocked.blocked}")
    peak, streamed = peak_memory()
    print(
        f"peak extra memory streaming {streamed / 1e6:.1f} MB: {peak / 1024:.0f} KB "
        "(target < 1024 KB)"
    )
    ok &= peak < 1024 * 1024
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
