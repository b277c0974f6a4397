"""The ledger's tables in Django's database (see :mod:`.store`). The same layout as the
SQLite store's: each row keeps the record as JSON in ``body``, with the columns the
store looks up by beside it."""

from __future__ import annotations

from django.db import models


class LedgerRecord(models.Model):
    """A proof-of-consent record (append-only)."""

    seq = models.BigAutoField(primary_key=True)
    record_id = models.CharField(max_length=64, unique=True)
    subject_id = models.CharField(max_length=255)
    user_id = models.CharField(max_length=255, null=True)
    time = models.FloatField()
    policy_version = models.CharField(max_length=255)
    action = models.CharField(max_length=32)
    body = models.TextField()

    class Meta:
        db_table = "consent_mw_record"
        indexes = [models.Index(fields=["subject_id", "seq"], name="consent_mw_record_subject")]


class CurrentState(models.Model):
    """A subject's current state: its latest record."""

    subject_id = models.CharField(max_length=255, primary_key=True)
    user_id = models.CharField(max_length=255, null=True)
    body = models.TextField()

    class Meta:
        db_table = "consent_mw_current"


class ChoiceCount(models.Model):
    """Current subjects per policy version, category and choice, kept exact."""

    policy_version = models.CharField(max_length=255)
    category = models.CharField(max_length=255)
    granted = models.BooleanField()
    n = models.BigIntegerField(default=0)

    class Meta:
        db_table = "consent_mw_counter"
        constraints = [
            models.UniqueConstraint(
                fields=["policy_version", "category", "granted"], name="consent_mw_counter_key"
            )
        ]


class UserLink(models.Model):
    """A signed-in user seen with a consent id; ``seq`` orders a user's links."""

    user_id = models.CharField(max_length=255)
    subject_id = models.CharField(max_length=255, db_index=True)
    seq = models.BigIntegerField()

    class Meta:
        db_table = "consent_mw_link"
        constraints = [
            models.UniqueConstraint(fields=["user_id", "subject_id"], name="consent_mw_link_key")
        ]


class CollectedEvent(models.Model):
    """Automatically collected data, kept until ``expires_at``."""

    seq = models.BigAutoField(primary_key=True)
    time = models.FloatField(db_index=True)
    kind = models.CharField(max_length=32)
    subject_id = models.CharField(max_length=255, null=True)
    user_id = models.CharField(max_length=255, null=True)
    expires_at = models.FloatField(db_index=True)
    body = models.TextField()

    class Meta:
        db_table = "consent_mw_event"
        indexes = [
            models.Index(fields=["subject_id", "time"], name="consent_mw_event_subject"),
            models.Index(fields=["user_id", "time"], name="consent_mw_event_user"),
        ]


class AccessLogEntry(models.Model):
    """Who queried the ledger, and what (see consent_mw.query)."""

    seq = models.BigAutoField(primary_key=True)
    time = models.FloatField()
    actor = models.CharField(max_length=255)
    body = models.TextField()

    class Meta:
        db_table = "consent_mw_access_log"


class FeedEntry(models.Model):
    """One entry of the change feed: a consent change, written with its record."""

    seq = models.BigAutoField(primary_key=True)
    subject_id = models.CharField(max_length=255, db_index=True)
    body = models.TextField()

    class Meta:
        db_table = "consent_mw_feed"
