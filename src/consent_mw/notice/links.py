"""Where the notice's links and forms point."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["NoticeLinks"]


@dataclass(frozen=True)
class NoticeLinks:
    """Where the notice's links and forms point; build others with :meth:`from_prefix`.

    ``delete`` and ``withdraw`` are form POST targets. ``preferences`` is a page
    that opens the consent banner; when None, the notice tells visitors to use
    the banner's re-open button instead (every page has one).
    """

    records: str = "/_consent/records"
    export: str = "/_consent/records?format=json"
    delete: str = "/_consent/records/delete"
    withdraw: str = "/_consent/withdraw"
    ads: str = "/_consent/ads"
    policy: str = "/_consent/policy"
    preferences: str | None = None

    @classmethod
    def from_prefix(
        cls, prefix: str = "/_consent", *, preferences: str | None = None
    ) -> NoticeLinks:
        prefix = prefix.rstrip("/")
        return cls(
            records=f"{prefix}/records",
            export=f"{prefix}/records?format=json",
            delete=f"{prefix}/records/delete",
            withdraw=f"{prefix}/withdraw",
            ads=f"{prefix}/ads",
            policy=f"{prefix}/policy",
            preferences=preferences,
        )
