"""User agents for the bot check: the public corpora in tests/fixtures/user_agents (their
sources and licences in the README there), the generator's overrides, and named cases.

- :func:`crawlers`: crawler-user-agents' entries, each a ``pattern`` with ``instances``;
- :func:`real_browsers`: real browsers and phones, ``{corpus name: user agents}``;
- :data:`PEOPLE` and :data:`AUTOMATED`: hand-picked cases, ``{what: user agent}``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "user_agents"
GENERATOR = ROOT / "scripts" / "crawler_patterns.py"

#: real browsers and phones: file -> where it comes from
BROWSER_CORPORA = {
    "intoli-user-agents.txt": "user-agents (npm, Intoli), real visitors' browsers, BSD-2-Clause",
    "uap-core-devices.txt": "uap-core's device tests: phones, tablets, TVs, Apache-2.0",
    "uap-core-firefox.txt": "uap-core's Firefox and Gecko browsers, Apache-2.0",
}


@cache
def crawlers() -> tuple[dict[str, Any], ...]:
    return tuple(json.loads((FIXTURES / "crawler-user-agents.json").read_bytes()))


def instances(entries: tuple[dict[str, Any], ...] | None = None) -> list[str]:
    """Every example user agent of ``entries`` (all crawlers by default)."""
    return [i for entry in entries or crawlers() for i in entry.get("instances", ())]


def fold(pattern: str) -> int:
    """0 or 1, fixed per upstream pattern: the two halves of the held-out measure."""
    return hashlib.sha256(pattern.encode()).digest()[0] % 2


@cache
def real_browsers() -> dict[str, tuple[str, ...]]:
    # Lines are not stripped: a few real user agents end in a space.
    return {
        name: tuple((FIXTURES / name).read_text("utf-8").splitlines()) for name in BROWSER_CORPORA
    }


@cache
def generator() -> ModuleType:
    """scripts/crawler_patterns.py as a module (for its OVERRIDES and build())."""
    spec = importlib.util.spec_from_file_location("crawler_patterns", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def shipped_form(patterns: list[str]) -> list[str]:
    """``patterns`` as the generator ships them: narrowed or left out per its OVERRIDES."""
    overrides: dict[str, tuple[tuple[str, ...], str]] = generator().OVERRIDES
    out: list[str] = []
    for pattern in patterns:
        out.extend(overrides[pattern][0] if pattern in overrides else (pattern,))
    return out


#: people's browsers, in-app browsers and phones that must never count as bots
PEOPLE: dict[str, str] = {
    "Samsung Internet": "Mozilla/5.0 (Linux; Android 14; SM-S928N) AppleWebKit/537.36 (KHTML, "
    "like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36",
    "KakaoTalk in-app, Android": "Mozilla/5.0 (Linux; Android 13; SM-G991N "
    "Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 "
    "Chrome/119.0.6045.193 Mobile Safari/537.36;KAKAOTALK 2410370",
    "KakaoTalk in-app, iOS": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) "
    "AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 KAKAOTALK 10.4.3",
    "NAVER app in-app, iOS": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) "
    "AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 NAVER(inapp; search; 2000; "
    "12.1.0; 15PRO)",
    "NAVER app in-app, Android": "Mozilla/5.0 (Linux; Android 13; SM-S918N "
    "Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 "
    "Chrome/120.0.6099.144 Whale/1.0.0.0 Crosswalk/28.120.0.6 Mobile Safari/537.36 "
    "NAVER(inapp; search; 2000; 12.2.5)",
    "Whale, Windows": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, "
    "like Gecko) Chrome/118.0.0.0 Whale/3.23.214.10 Safari/537.36",
    "Whale, Android": "Mozilla/5.0 (Linux; Android 13; SM-S911N) AppleWebKit/537.36 (KHTML, "
    "like Gecko) Chrome/120.0.6099.230 Whale/1.0.0.0 Crosswalk/28.120.0.7 Mobile "
    "Safari/537.36",
    "Daum app in-app": "Mozilla/5.0 (Linux; Android 13; SM-S911N Build/TP1A.220624.014; wv) "
    "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.193 Mobile "
    "Safari/537.36 DaumApps/7.9.2 DaumDevice/mobile",
    "iOS Safari": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1",
    "iPadOS Safari": "Mozilla/5.0 (iPad; CPU OS 17_2 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1",
    "Chrome, Android": "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like "
    "Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
    "Chrome, iOS": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) CriOS/120.0.6099.119 Mobile/15E148 Safari/604.1",
    "Firefox, Linux": "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
    "Firefox, Android": "Mozilla/5.0 (Android 14; Mobile; rv:121.0) Gecko/121.0 Firefox/121.0",
    "Firefox, iOS": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) "
    "AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/121.0 Mobile/15E148 Safari/605.1.15",
    "Edge, Windows": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
    "Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91",
    "Edge, Android": "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Mobile Safari/537.36 EdgA/120.0.2210.84",
    "Edge, iOS": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 EdgiOS/120.2210.89 Mobile/15E148 Safari/605.1.15",
    "Cubot X30": "Mozilla/5.0 (Linux; Android 10; Cubot X30) AppleWebKit/537.36 (KHTML, like "
    "Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
    "Cubot Note 20 Pro": "Mozilla/5.0 (Linux; Android 12; CUBOT NOTE 20 PRO) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
    "Cubot One, with 'by' in its build": "Mozilla/5.0 (Linux; U; Android 4.2.2; en-; Cubot One "
    "by bigrammy Build/JOP40D) AppleWebKit/534.30 (KHTML, like Gecko) Version/4.0 Mobile "
    "Safari/534.30",
    "LINE in-app": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) "
    "AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Safari Line/13.20.0",
    "Instagram in-app": "Mozilla/5.0 (Linux; Android 13; SM-S911N Build/TP1A.220624.014; wv) "
    "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/120.0.6099.144 Mobile "
    "Safari/537.36 Instagram 309.0.0.40.113 Android (33/13; 420dpi; 1080x2340; samsung; "
    "SM-S911N; dm1q; qcom; ko_KR; 541635863)",
    "Facebook in-app, Android": "Mozilla/5.0 (Linux; Android 13; SM-S911N "
    "Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 "
    "Chrome/120.0.6099.144 Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/444.0.0.30.110;]",
    "Facebook in-app, iOS": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) "
    "AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/444.0.0.38.117;"
    "FBBV/547327829;FBDV/iPhone15,3;FBMD/iPhone;FBSN/iOS;FBSV/17.1.2;FBSS/3;FBID/phone;"
    "FBLC/ko_KR;FBOP/5;FBRV/549282574]",
    "Facebook's newer in-app browser": "Mozilla/5.0 (Linux; Android 16; Pixel 10 Pro XL "
    "Build/CP1A.260305.018; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 "
    "Chrome/146.0.7680.174 Mobile Safari/537.36 MetaIAB Facebook",
    "Pinterest in-app": "Mozilla/5.0 (Linux; Android 13; SM-S911N Build/TP1A.220624.014; wv) "
    "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/120.0.6099.144 Mobile "
    "Safari/537.36 [Pinterest/Android]",
    "TikTok in-app": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) "
    "AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 musical_ly_32.6.0 JsSdk/2.0 "
    "NetType/WIFI Channel/App Store ByteLocale/ko Region/KR isDarkMode/0 WKWebView/1 "
    "RevealType/Dialog BytedanceWebview/d8a21c6",
    "Google app": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) GSA/300.0.598994205 Mobile/15E148 Safari/604.1",
    "WeChat in-app": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) "
    "AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.43(0x18002b2d) "
    "NetType/WIFI Language/zh_CN",
    "Yandex Browser": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, "
    "like Gecko) Chrome/118.0.0.0 YaBrowser/23.11.0.0 Safari/537.36",
    "Ecosia": "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/150.0.0.0 Mobile Safari/537.36 (Ecosia android@150.0.0.0)",
    "Kindle Silk": "Mozilla/5.0 (Linux; Android 9; KFTRWI) AppleWebKit/537.36 (KHTML, like "
    "Gecko) Silk/120.3.1 like Chrome/120.0.6099.230 Safari/537.36",
    "Samsung TV": "Mozilla/5.0 (SMART-TV; LINUX; Tizen 7.0) AppleWebKit/537.36 (KHTML, like "
    "Gecko) 94.0.4606.31/7.0 TV Safari/537.36",
    "PlayStation 5": "Mozilla/5.0 (PlayStation; PlayStation 5/2.26) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/13.0 Safari/605.1.15",
    "VS Code's Simple Browser": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Code/1.115.0 Chrome/142.0.7444.265 Electron/39.8.5 Safari/537.36",
    "J2ME phone (Java/ASVM)": "LG-A155/V100 Obigo/Q05A MMS/LG-MMS-V1.0/1.2 Java/ASVM/1.1 "
    "Profile/MIDP-2.1 Configuration/CLDC-1.1",
    "J2ME phone (Java/SEMC-Java)": "SonyEricssonW666i/R2BA Java/SEMC-Java/2.0 Profile/MIDP-2.0 "
    "Configuration/CLDC-1.1 UNTRUSTED/1.0",
    "Spreadtrum phone (L008/)": "sprd-L008/1.0 Linux/2.6.35.7 Android/2.3.5 Release/09.10.2012 "
    "Browser/AppleWebKit533.1 (KHTML, like Gecko) Mozilla/5.0 Mobile",
    "HTC Butterfly": "Mozilla/5.0 (Linux; Android 4.2.2; HTC Butterfly s Build/JDQ39) "
    "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/29.0.1547.72 Mobile Safari/537.36",
    "Panasonic phone (…sonic)": "Mozilla/5.0 (Linux; U; Android 2.3.5; de-de; Panasonic_dL1 "
    "Build/GRJ90_07.0348) AppleWebKit/533.1 (KHTML, like Gecko) Version/4.0 Mobile "
    "Safari/533.1",
    "SeaMonkey with Lightning (…ning/)": "Mozilla/5.0 (X11; U; Linux x86_64; en-US; "
    "rv:1.9.1.9) Gecko/20100317 SUSE/2.0.4-3.2 Lightning/1.0b1 SeaMonkey/2.0.4",
    "ARCHOS tablet (@ in its build)": "Mozilla/5.0 (Linux; Android 4.0.3; ARCHOS 101G9 "
    "Build/ICS@ROM_04.06.2012) AppleWebKit/535.19 (KHTML, like Gecko) Chrome/18.0.1025.166 "
    "Safari/535.19",
    "Galaxy Ace custom ROM (URL in its build)": "Mozilla/5.0 (Linux; U; Android WP7; de-de; "
    "GT-S5830 - Forum: http://forumgalaxyace.fora24.pl Build/GRWK74; WP7 by maniaczek1111) "
    "AppleWebKit/533.1 (KHTML, like Gecko) Version/4.0 Mobile Safari/533.1",
    "OnePlus (whose build 80legs copies)": "Mozilla/5.0 (Linux; Android 15; CPH2557 "
    "Build/AP3A.240617.008; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 "
    "Chrome/142.0.7444.142 Mobile Safari/537.36",
}

#: crawlers, monitors, link checkers, feed readers, archivers, libraries, automation
AUTOMATED: dict[str, str] = {
    "Pingdom": "Pingdom.com_bot_version_1.4_(http://www.pingdom.com/)",
    "Pingdom page speed": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like "
    "Gecko) Chrome/61.0.3163.100 Safari/537.36 PingdomPageSpeed/1.0 (pingbot/2.0; "
    "+http://www.pingdom.com/)",
    "StatusCake": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
    "Gecko) Chrome/71.0.3578.98 Safari/537.36 StatusCake",
    "UptimeRobot": "Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)",
    "Scrapy": "Scrapy/2.11.0 (+https://scrapy.org)",
    "Nutch": "Apache-Nutch/1.19",
    "ia_archiver": "ia_archiver (+http://www.alexa.com/site/help/webmasters; crawler@alexa.com)",
    "archive.org_bot": "Mozilla/5.0 (compatible; archive.org_bot "
    "+http://archive.org/details/archive.org_bot)",
    "Internet Archive's special archiver": "Mozilla/5.0 (compatible; special_archiver/3.1.1 "
    "+http://www.archive.org/details/archive.org_bot)",
    "WebPageTest (PTST)": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, "
    "like Gecko) Chrome/120.0.0.0 Safari/537.36 PTST/231128.151104",
    "Feedly": "Feedly/1.0 (+http://www.feedly.com/fetcher.html; 42 subscribers; like "
    "FeedFetcher-Google)",
    "Inoreader": "Mozilla/5.0 (compatible; inoreader.com; 1 subscribers)",
    "NewsBlur": "NewsBlur Feed Fetcher - 3 subscribers - https://www.newsblur.com/site/123/x "
    "(Mozilla/5.0 (Macintosh; Intel Mac OS X 10_14_6) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/76.0.3809.87 Safari/537.36)",
    "W3C-checklink": "W3C-checklink/5.0.0 libwww-perl/6.68",
    "LinkChecker": "Mozilla/5.0 (compatible; LinkChecker/10.2.1; "
    "+https://linkchecker.github.io/linkchecker/)",
    "NAVER's Yeti": "Mozilla/5.0 (compatible; Yeti/1.1; +https://naver.me/spd)",
    "Daum": "Mozilla/5.0 (compatible; Daum/4.1; +http://cs.daum.net/faq/15/4118.html?faqId=28966)",
    "Daumoa": "Mozilla/5.0 (compatible; MSIE or Firefox mutant; not on Windows server;) Daumoa/4.0",
    "HeadlessChrome": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/120.0.6099.28 Safari/537.36",
    "Lighthouse": "Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/119.0.0.0 Mobile Safari/537.36 Chrome-Lighthouse",
    "Googlebot smartphone": "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) "
    "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.71 Mobile Safari/537.36 "
    "(compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "bingbot": "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "GPTBot": "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; "
    "+https://openai.com/gptbot)",
    "Mediapartners-Google": "Mediapartners-Google",
    "facebookexternalhit": "facebookexternalhit/1.1 "
    "(+http://www.facebook.com/externalhit_uatext.php)",
    "WhatsApp link preview": "WhatsApp/2.23.24.76 A",
    "Java's HTTP client": "Java/17.0.9",
    "python-requests": "python-requests/2.31.0",
    "curl": "curl/8.4.0",
    "Go": "Go-http-client/2.0",
    "OkHttp": "okhttp/4.12.0",
    "HTTPie": "HTTPie/3.2.2",
}
