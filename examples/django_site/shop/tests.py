"""The example's own tests, run by Django's test runner: ``python manage.py test``."""

import json

from django.core import checks
from django.test import TestCase

from consent_mw.django.models import LedgerRecord

ORIGIN = {"origin": "http://testserver"}


class ConsentTests(TestCase):
    def accept(self, client, body):
        response = client.post(
            "/_consent", json.dumps(body), content_type="application/json", headers=ORIGIN
        )
        self.assertEqual(response.status_code, 200)
        return response

    def test_trackers_wait_for_consent(self):
        first = self.client.get("/")
        self.assertEqual(first.status_code, 200)
        self.assertNotIn("_ga", first.cookies)
        self.assertNotIn("_fbp", first.cookies)
        self.assertContains(first, "Usage statistics are off.")
        self.assertContains(first, '<script src="/_consent/banner.')
        self.assertContains(first, 'type="text/plain" data-consent-category="analytics"')
        self.accept(self.client, {"choices": {"analytics": True}})
        second = self.client.get("/")
        self.assertIn("_ga", second.cookies)
        self.assertNotIn("_fbp", second.cookies)
        self.assertContains(second, "Thanks for helping us improve the site.")

    def test_the_choice_is_kept_in_the_sites_database(self):
        state = self.accept(self.client, {"action": "reject_all"}).json()["state"]
        record = LedgerRecord.objects.get(subject_id=state["consent_id"])
        self.assertEqual(record.action, "reject_all")

    def test_streamed_pages_are_rewritten(self):
        response = self.client.get("/feed")
        body = b"".join(response.streaming_content).decode()
        self.assertIn('data-consent-src="https://www.googletagmanager.com/gtag/js?id=G-SHOP"', body)
        self.assertNotIn(' src="https://www.googletagmanager.com', body)

    async def test_click_ids_are_hidden_from_an_async_view(self):
        response = await self.async_client.get("/offers?gclid=abc")
        self.assertEqual(
            response.json(), {"personalised": False, "analytics": False, "campaign": None}
        )

    def test_the_consent_checks_pass(self):
        found = [m for m in checks.run_checks() if m.id and m.id.startswith("consent_mw.")]
        self.assertEqual(found, [])
