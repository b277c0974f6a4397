"""The bot check: recall on a public crawler corpus, no false positive on real browsers and
phones, named cases, the device parser's classification beside the patterns, and the one
expression built from the patterns (the same answers as the patterns searched one by one).

Corpora and their licences: tests/fixtures/user_agents/README.md. docs/bots.md explains the
figures this file reports."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consent_mw.core import bots
from consent_mw.core.bots import GENERIC, compile_patterns, is_bot, named_patterns
from consent_mw.core.device import MAX_USER_AGENT, DeviceParser, bot_check
from support.user_agents import (
    AUTOMATED,
    BROWSER_CORPORA,
    GENERATOR,
    PEOPLE,
    crawlers,
    fold,
    generator,
    instances,
    real_browsers,
    shipped_form,
)

#: upstream patterns the generator leaves out: their examples are people's browsers or phones
LEFT_OUT = {p for p, (shipped, _) in generator().OVERRIDES.items() if not shipped}


@pytest.fixture(scope="module")
def parser() -> DeviceParser:
    return DeviceParser()


Check = Callable[[str | None], bool]


@pytest.fixture(scope="module")
def with_parser(parser: DeviceParser) -> Check:
    return bot_check(lambda: parser)


@pytest.fixture
def report(capsys: pytest.CaptureFixture[str]) -> Iterator[list[str]]:
    """Lines shown in the test output (not only on failure): the measured figures."""
    lines: list[str] = []
    yield lines
    with capsys.disabled():
        for line in lines:
            print(f"\n    {line}", end="")


def percent(hits: int, total: int) -> str:
    return f"{hits}/{total} = {100 * hits / total:.2f}%"


# -- recall ------------------------------------------------------------------------------


def test_recall_on_the_crawler_corpus(report: list[str], with_parser: Check) -> None:
    """Every example of crawler-user-agents (its ``instances``; the shipped patterns come
    from its ``pattern`` field, and upstream checks each example against its pattern, so this
    measures what the shipped list and the generic words keep of the corpus)."""
    examples = instances()
    missed = [ua for ua in examples if not is_bot(ua)]
    hits = len(examples) - len(missed)
    report.append(f"recall, crawler-user-agents examples: {percent(hits, len(examples))}")
    with_classification = sum(with_parser(ua) for ua in examples)
    report.append(f"  with the device parser beside: {percent(with_classification, len(examples))}")
    assert hits / len(examples) >= 0.95, percent(hits, len(examples))
    # What is missed is only what the generator leaves out on purpose.
    left_out = {i for e in crawlers() if e["pattern"] in LEFT_OUT for i in e["instances"]}
    assert set(missed) <= left_out, sorted(set(missed) - left_out)


def test_recall_on_crawlers_the_patterns_were_not_built_from(report: list[str]) -> None:
    """Held out: the corpus split in two by a hash of each pattern; a detector built from the
    generic words and one half's patterns is measured on the other half's examples. This is
    the recall on crawlers nobody has listed yet (the generic words were written with the
    whole corpus in view, so it is somewhat optimistic)."""
    rates = []
    for half in (0, 1):
        known = [e["pattern"] for e in crawlers() if fold(e["pattern"]) == half]
        unseen = instances(tuple(e for e in crawlers() if fold(e["pattern"]) != half))
        detector = compile_patterns((*GENERIC, *shipped_form(known)))
        hits = sum(detector.search(ua.lower()) is not None for ua in unseen)
        rates.append(hits / len(unseen))
        report.append(f"held-out recall, half {half}: {percent(hits, len(unseen))}")
    generic = compile_patterns(GENERIC)
    examples = instances()
    alone = sum(generic.search(ua.lower()) is not None for ua in examples)
    report.append(f"generic words alone, whole corpus: {percent(alone, len(examples))}")
    assert min(rates) >= 0.82 and sum(rates) / 2 >= 0.85, rates


# -- false positives -----------------------------------------------------------------------


@pytest.mark.parametrize("corpus", sorted(BROWSER_CORPORA))
def test_no_real_browser_or_phone_is_a_bot(
    corpus: str, report: list[str], with_parser: Check
) -> None:
    agents = real_browsers()[corpus]
    assert len(agents) > 200
    flagged = [ua for ua in agents if is_bot(ua)]
    by_parser = [ua for ua in agents if with_parser(ua)]
    report.append(
        f"false positives, {corpus}: {len(flagged)} of {len(agents)}"
        f" ({len(by_parser)} with the device parser beside)"
    )
    assert flagged == []
    assert by_parser == []


@pytest.mark.parametrize("user_agent", PEOPLE.values(), ids=PEOPLE.keys())
def test_people(user_agent: str, with_parser: Check) -> None:
    assert is_bot(user_agent) is False
    assert with_parser(user_agent) is False


@pytest.mark.parametrize("user_agent", AUTOMATED.values(), ids=AUTOMATED.keys())
def test_automated_clients(user_agent: str) -> None:
    assert is_bot(user_agent) is True
    assert is_bot(user_agent.upper()) is True  # the patterns ignore case


# -- the device parser beside the patterns ---------------------------------------------------

# ua-parser's crawler list names these; crawler-user-agents does not.
PARSER_ONLY = ["TLSProber/0.9", "Icarus6j/1.0", "Pompos/1.3"]


@pytest.mark.parametrize("user_agent", PARSER_ONLY)
def test_the_device_parser_finds_what_the_patterns_miss(
    user_agent: str, parser: DeviceParser
) -> None:
    assert is_bot(user_agent) is False
    assert parser.is_crawler(user_agent) is True
    assert bot_check(lambda: parser)(user_agent) is True
    assert bot_check()(user_agent) is False  # without the ua extra: the patterns alone


def test_the_parsers_crawler_answer_is_its_device_facts_answer(parser: DeviceParser) -> None:
    # is_crawler parses the device alone; facts() parses everything and classifies.
    agents = [*instances(), *real_browsers()["intoli-user-agents.txt"], *PARSER_ONLY]
    agents += [*PEOPLE.values(), *AUTOMATED.values(), "", "\x00"]
    by_facts = [(f := parser.facts(ua)) is not None and f.type == "bot" for ua in agents]
    assert [parser.is_crawler(ua) for ua in agents] == by_facts
    assert 200 < sum(by_facts) < len(agents) - 900


def test_the_parser_is_asked_once_per_user_agent_and_only_when_the_patterns_say_no() -> None:
    asked: list[str] = []

    class Parser:
        def is_crawler(self, user_agent: str) -> bool:
            asked.append(user_agent)
            return False

    check = bot_check(lambda: Parser())  # type: ignore[arg-type, return-value]
    assert [check(PEOPLE["iOS Safari"]) for _ in range(3)] == [False] * 3
    assert check(AUTOMATED["Pingdom"]) is True
    assert check(None) is False and check("") is False
    assert asked == [PEOPLE["iOS Safari"]]


def test_a_long_user_agent_is_judged_on_its_first_characters() -> None:
    bot = AUTOMATED["Scrapy"]
    assert is_bot(bot + " " + "x" * 100_000) is True
    assert is_bot("x" * MAX_USER_AGENT + bot) is False
    assert bot_check()("x" * MAX_USER_AGENT + bot) is False
    # A pattern with an open gap ("Current[\s\S]*RSS Reader") over a long header: the cut
    # keeps its search short.
    assert is_bot("Current " * 50_000) is False


# -- the shipped data ----------------------------------------------------------------------


def test_the_shipped_patterns_are_what_the_generator_writes() -> None:
    result = subprocess.run(
        [sys.executable, str(GENERATOR), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("pattern", sorted(generator().OVERRIDES))
def test_each_override_keeps_its_crawler_or_spares_a_person(pattern: str) -> None:
    shipped, why = generator().OVERRIDES[pattern]
    assert why
    [entry] = [e for e in crawlers() if e["pattern"] == pattern]
    detector = compile_patterns(shipped)
    found = [detector.search(ua.lower()) is not None for ua in entry["instances"]]
    # Narrowed: still finds every example. Left out: its example is a person's browser.
    assert found == [bool(shipped)] * len(found)


def test_the_licence_ships_beside_the_patterns() -> None:
    from importlib import resources

    data = resources.files("consent_mw").joinpath("core", "data")
    assert "Martin Monperrus" in data.joinpath("LICENSE-crawler-user-agents").read_text()
    assert "MIT" in data.joinpath(bots.PATTERNS_FILE).read_text()


# -- one expression, the same answers as the patterns one by one -----------------------------


ALL_PATTERNS = [*GENERIC, *named_patterns()]
COMPILED = [re.compile(p, re.IGNORECASE) for p in ALL_PATTERNS]


def one_by_one(user_agent: str) -> bool:
    return any(p.search(user_agent) for p in COMPILED)


def test_the_expression_agrees_with_the_patterns_on_every_corpus() -> None:
    expression = bots.expression()
    browsers = [ua for agents in real_browsers().values() for ua in agents]
    # Every crawler example, every fourth browser (each costs a search per pattern).
    corpora = [*instances(), *browsers[::4], *PEOPLE.values(), *AUTOMATED.values()]
    disagree = [
        ua for ua in corpora if (expression.search(ua.lower()) is not None) != one_by_one(ua)
    ]
    assert disagree == []


# Pieces of the patterns themselves, so that generated strings come near matches.
PIECES = sorted(
    {head for p in ALL_PATTERNS for head, _ in bots.split_pattern(p) if head}
    | {"cubot", "java/1", "daumapps", "sonic/", "008/", "(", ")", ";", " ", "/", "-", "@"}
)


@given(st.lists(st.sampled_from(PIECES) | st.text(max_size=3), max_size=8).map("".join))
def test_the_expression_agrees_with_the_patterns_on_generated_strings(text: str) -> None:
    assert (bots.expression().search(text.lower()) is not None) == one_by_one(text)


@pytest.mark.parametrize(
    ("pattern", "pairs"),
    [
        ("Googlebot\\/", [("googlebot/", "")]),
        ("https?://", [("http", "s?://")]),
        ("[cC]laude[bB]ot", [("claudebot", "")]),
        ("^curl", [("curl", "(?<=^curl)")]),
        ("(^| )PTST\\/", [("ptst/", "(?<=^ptst/)"), (" ptst/", "")]),
        ("Netumo|netumo", [("netumo", ""), ("netumo", "")]),
        ("Ahrefs(Bot|SiteAudit)", [("ahrefs", "(Bot|SiteAudit)")]),
        ("[wW]get", [("wget", "")]),
        ("[a-z]+bot", [("", "[a-z]+bot")]),
        ("bot(?<!cubot)", [("bot", "(?<!cubot)")]),
    ],
)
def test_split_pattern(pattern: str, pairs: list[tuple[str, str]]) -> None:
    assert bots.split_pattern(pattern) == pairs


def test_no_pattern_matches_nothing() -> None:
    assert compile_patterns([]).search("anything") is None


def test_answers_are_remembered() -> None:
    bots.declares_bot.cache_clear()
    is_bot(AUTOMATED["Feedly"])
    is_bot(AUTOMATED["Feedly"])
    info = bots.declares_bot.cache_info()
    assert (info.hits, info.misses) == (1, 1)
