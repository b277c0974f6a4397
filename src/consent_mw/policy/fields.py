"""Every key of a policy file, once: this table drives reading, the snapshot and the diff.

:data:`POLICY` is the top level; each table below is one kind of TOML table (a category,
a cookie, ``[controller]``…). A :class:`~consent_mw.policy.kinds.Field` says:

``key``       the TOML key (and the record attribute it fills)
``kind``      how it is read and compared: ``TEXT`` a text per locale (``NOTICE_TEXT``
              in the notice's sections: a blank string is reported per locale),
              ``STR`` / ``Str(what)`` / ``Url`` / ``Choice``, ``STRINGS`` a list of
              strings (compared as a set), ``FLAG``, ``DAYS`` a whole number of days
              (at least 1), ``Int``, ``DATE``, ``VERSION``, ``Entries(table, by=…,
              ids=…)`` a list of tables (with ids: compared by id; without: paired by
              their text, then by position), ``Section(table)`` a table of its own
``required``  a missing key is an error (for a text: every locale needs one)
``default``   the value of a missing key, or a function of what is read so far
``check``     a check of its own once read, raising PolicyError naming the key
``major``     how a change weighs in :mod:`~consent_mw.policy.diff` (a change that is
              major is announced 30 days ahead, not 7): ``"always"``, ``"added"`` (an
              entry or a set member added), ``"not_removed"`` (added or changed),
              ``"removed"``, ``"turned_on"`` (became true), ``"longer"`` (a day count
              grown, or gone: unbounded), ``"lowered"``; None (the default) weighs as
              the field it is part of, ``"never"`` at the top
``days``      on a text: the day-count key that makes it a period. The snapshot keeps
              ``retention`` (wording) and ``retention_days`` (what is compared), or
              ``retention_period`` when there is no count: any change to it is major
``notice``    a top-level section read by the notice (kept verbatim in ``Policy.raw``
              and read by :func:`~consent_mw.policy.notice_source.read_source`),
              not by :meth:`Policy.from_dict`

The order of a table is the order keys are read in (so what a key's default or check
looks at comes before it) and the order a diff lists its changes in.

**Adding a key** is one :class:`Field` in its table here, plus the attribute of the same
name on the frozen record the table builds (:class:`~consent_mw.policy.model.Policy`
for the top level, the records in :mod:`~consent_mw.policy.parts` for the others). It is
then read, with errors naming it, snapshotted and diffed; nothing else changes. Only
what *uses* the new value (the engine, the notice's layout) is code of its own, and a
new top-level key that is neither read by the policy nor by the notice is refused like a
typo until it is in this table. The prose of the format is in :mod:`consent_mw.notice`.
"""

from __future__ import annotations

from .checks import (
    BannerTexts,
    NoticeExtra,
    Regime,
    a_category,
    after_announced,
    an_optional_category,
    category_id,
    child_age_range,
    cookie_name,
    cookie_names,
    defined_processors,
    first_locale,
    gpp_sections,
    is_necessary,
    language_tags,
    listed_locale,
    mode_types,
    necessary_required,
    no_or_a_category,
    regime_child_age,
    service_name,
    shipped_services,
    signal_vendors,
    standard_modes,
    storage_keys,
    unique_with_necessary,
    version_length,
    within_regime,
)
from .kinds import (
    DATE,
    DAYS,
    FLAG,
    NOTICE_TEXT,
    STR,
    STRINGS,
    TEXT,
    VERSION,
    Choice,
    Flag,
    Int,
    Str,
    Strings,
    Url,
)
from .parts import (
    SIGNAL_VENDORS,
    Category,
    Collected,
    Contact,
    Controller,
    CookieSpec,
    EmbedsSpec,
    GppOptions,
    HistoryEntry,
    Item,
    Measure,
    NoticeOptions,
    Processor,
    Rights,
    Service,
    Signals,
    StatutoryRecord,
    ThirdParty,
)
from .schema import Entries, Field, Section, Table
from .trackers import Tracker

__all__ = [
    "CATEGORY",
    "COLLECTED",
    "CONTACT",
    "CONTROLLER",
    "COOKIE",
    "GPP",
    "HISTORY",
    "ITEM",
    "MEASURE",
    "NOTICE",
    "POLICY",
    "PROCESSOR",
    "RIGHTS",
    "SIGNALS",
    "STATUTORY",
    "THIRD_PARTY",
    "TRACKER",
]


# -- what enforcement reads -------------------------------------------------------------

COOKIE = Table(
    (
        Field("name", Str("a cookie name"), required=True, check=cookie_name),
        Field("owner", STR),
        Field("lifetime", TEXT),
        Field("purpose", TEXT),
        Field("third_party", FLAG),
    ),
    CookieSpec,
    what="a cookie name or a table",
    shorthand="name",
)

SERVICE = Table(
    (
        Field("name", Str("a service name"), required=True, check=service_name),
        Field("purpose", TEXT, major="always"),
        Field("retention", TEXT, major="always"),
        Field("owners", STRINGS, major="added"),
        Field("cookies", STRINGS, check=cookie_names, major="added"),
        Field("hosts", STRINGS, major="added"),
    ),
    Service,
    what="a service name or a table",
    shorthand="name",
)

CATEGORY = Table(
    (
        Field("id", Str("a category id"), required=True, check=category_id),
        Field("title", TEXT, required=True, major="never"),
        Field("description", TEXT, required=True, major="always"),
        Field(
            "required",
            FLAG,
            default=is_necessary,
            check=necessary_required,
            major="turned_on",
        ),
        Field("default_on", FLAG, major="turned_on"),
        Field("cookies", Entries(COOKIE, by="name", ids=True), major="always"),
        Field("hosts", STRINGS, major="always"),
        Field("storage", STRINGS, check=storage_keys, major="always"),
        Field("processors", STRINGS, check=defined_processors, major="added"),
        Field("consent_mode", STRINGS, default=standard_modes, check=mode_types, major="added"),
        Field("retention", TEXT, days="retention_days", major="never"),
        Field("retention_days", DAYS, major="longer"),
        Field("services", Entries(SERVICE, by="name", ids=True), major="added"),
    ),
    Category,
)

PROCESSOR = Table(
    (
        Field("id", STR, required=True),
        Field("name", TEXT, required=True, major="never"),
        Field("purpose", TEXT, required=True, major="always"),
        Field("country", STR, major="always", snap=str.upper),
    ),
    Processor,
)

TRACKER = Table(
    (
        Field("owner", STR, required=True),
        Field("category", Str("a category id"), required=True, check=a_category),
        Field("cookies", STRINGS),
        Field("hosts", STRINGS),
        Field("inline", STRINGS),
        Field("click_ids", STRINGS),
    ),
    Tracker,
)

SIGNALS = Table(
    (
        Field(
            "vendors",
            STRINGS,
            default=list(SIGNAL_VENDORS),
            check=signal_vendors,
            major="never",
        ),
        Field("ads_data_redaction", FLAG, default=True, major="never"),
        # Passing click ids through links, and Google's tags loading before consent
        # (advanced Consent Mode), change what reaches Google: announced as major.
        Field("url_passthrough", FLAG, major="turned_on"),
        Field("advanced", FLAG, major="turned_on"),
    ),
    Signals,
    closed=True,
)

GPP = Table(
    (
        Field("sections", STRINGS, check=gpp_sections, major="never"),
        Field("mspa_covered_transaction", FLAG, major="never"),
    ),
    GppOptions,
    closed=True,
)


# -- what only the notice reads ---------------------------------------------------------

ITEM = Table(
    (
        Field("item", NOTICE_TEXT, required=True),
        Field("purpose", NOTICE_TEXT),
        Field("when", NOTICE_TEXT),
        Field("category", STR, check=no_or_a_category),
    ),
    Item,
    closed=True,
    shorthand="item",
)

COLLECTED = Table(
    tuple(
        Field(name, Entries(ITEM, what="a list of items", by="item"))
        for name in ("required", "optional", "automatic")
    ),
    Collected,
    closed=True,
)

STATUTORY = Table(
    (
        Field("record", NOTICE_TEXT, required=True, major="never"),
        Field("law", NOTICE_TEXT, required=True, major="never"),
        Field("keep", NOTICE_TEXT, required=True, days="keep_days", major="never"),
        Field("keep_days", DAYS, major="longer"),
    ),
    StatutoryRecord,
    closed=True,
)

THIRD_PARTY = Table(
    (
        Field("name", NOTICE_TEXT, required=True),
        Field("purpose", NOTICE_TEXT, required=True),
        Field("items", NOTICE_TEXT, required=True),
        Field("retention", NOTICE_TEXT, required=True),
        Field("country", Str(upper=True)),
    ),
    ThirdParty,
    closed=True,
)

CONTROLLER = Table(
    (
        Field("name", NOTICE_TEXT),
        Field("privacy_officer", NOTICE_TEXT),
        Field("department", NOTICE_TEXT),
        Field("address", NOTICE_TEXT),
        Field("helpdesk", STR),
        Field("phone", STR),
        Field("email", STR),
        Field("country", Str(upper=True)),
        Field("aliases", Strings("a list of names", none_ok=False)),
    ),
    Controller,
    closed=True,
)

MEASURE = Table(
    (
        Field("kind", Choice(("administrative", "technical", "physical"), "technical")),
        Field("measure", NOTICE_TEXT, required=True),
    ),
    Measure,
    closed=True,
)

CONTACT = Table(
    (
        Field("name", NOTICE_TEXT, required=True),
        Field("role", NOTICE_TEXT),
        Field("phone", STR),
        Field("url", Url()),
        Field("email", STR),
    ),
    Contact,
    closed=True,
)

HISTORY = Table(
    (
        Field("version", VERSION, required=True),
        Field("announced", DATE),
        Field("effective", DATE, check=after_announced),
        Field("summary", NOTICE_TEXT),
        Field("major", Flag(optional=True)),
        Field("url", Url()),
    ),
    HistoryEntry,
    closed=True,
)

RIGHTS = Table(
    (
        Field("how", NOTICE_TEXT),
        Field("extra", Entries(NOTICE_TEXT, what="a list of texts"), major="removed"),
        Field(
            "child_age",
            Int("a whole number of years"),
            default=regime_child_age,
            check=child_age_range,
            major="lowered",
        ),
    ),
    Rights,
    closed=True,
)

NOTICE = Table(
    (
        Field("title", NOTICE_TEXT),
        Field("intro", NOTICE_TEXT),
        Field("extra", NoticeExtra()),
    ),
    NoticeOptions,
    closed=True,
)

EMBEDS = Table(
    (
        Field("category", Str("a category id"), required=True, check=an_optional_category),
        Field("services", STRINGS, check=shipped_services),
    ),
    EmbedsSpec,
    closed=True,
)


def _rows(table: Table, name: str, by: str) -> Entries:
    """``[[name]]``: entries without ids, paired by their text ``by``."""
    return Entries(table, what=f"a list of tables ([[{name}]])", by=by)


# -- the top level ---------------------------------------------------------------------

POLICY = Table(
    (
        Field("version", VERSION, required=True, check=version_length),
        Field("announced", DATE),
        Field("effective", DATE, check=after_announced),
        Field("gpc_last_update", DATE),
        Field("locales", STRINGS, default=["ko", "en"], check=language_tags),
        Field("default_locale", Str("a locale"), default=first_locale, check=listed_locale),
        Field("regime", Regime(), attrs=("regime", "country_regimes"), major="always"),
        Field(
            "consent_lifetime_days",
            Int("a whole number of days", optional=True),
            check=within_regime,
            major="longer",
        ),
        Field("compatible_versions", Strings(frozen=True)),
        Field(
            "categories",
            Entries(CATEGORY, what="a list of tables", by="id", ids=True),
            required=True,
            check=unique_with_necessary,
            major="always",
        ),
        Field("processors", Entries(PROCESSOR, by="id", ids=True), major="added"),
        Field("trackers", Entries(TRACKER, by="owner", ids=True), major="not_removed"),
        Field("texts", BannerTexts()),
        # Click-to-load placeholders for embedded players (consent_mw.policy.embeds).
        Field("embeds", Section(EMBEDS, optional=True), major="always"),
        # The browser's half of enforcement (see consent_mw.core.csp); the middleware's
        # own ``csp`` option wins over it. Not the notice's business: never major.
        Field("csp", Choice(("off", "report", "enforce"), "off"), major="never"),
        # How the decision reaches vendors' tags and ad tech (see consent_mw.html.signals).
        Field("signals", Section(SIGNALS)),
        Field("gpp", Section(GPP)),
        Field("collected", Section(COLLECTED, optional=True), major="always", notice=True),
        Field("retention", _rows(STATUTORY, "retention", "record"), major="added", notice=True),
        Field(
            "third_parties",
            _rows(THIRD_PARTY, "third_parties", "name"),
            major="not_removed",
            notice=True,
        ),
        Field("controller", Section(CONTROLLER), notice=True),
        Field("security", _rows(MEASURE, "security", "measure"), notice=True),
        Field("contacts", _rows(CONTACT, "contacts", "name"), notice=True),
        Field("history", _rows(HISTORY, "history", "version"), notice=True),
        Field("rights", Section(RIGHTS), notice=True),
        Field("notice", Section(NOTICE), notice=True),
    ),
    dict,
)
