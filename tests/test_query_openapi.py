"""The OpenAPI document matches the query API: schemathesis generates requests from it
(valid and invalid, a bounded number per operation) and checks every response —
status codes, content types, headers and bodies — against it."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance
from schemathesis.config import SchemathesisConfig
from starlette.testclient import TestClient

from consent_mw import MemoryStore
from consent_mw.query import create_app
from consent_mw.query.openapi import openapi_document
from support.query import ADMIN_TOKEN, NOW, TOKEN_LINES, gdpr_policy, make_record

_store = MemoryStore()
for _i in range(20):
    _store.append(make_record(f"s{_i}", at=NOW + _i, advertising=_i % 2 == 0))
_store.link_user("s1", "user-1")
# max_wait: a long-poll for a cursor past the last change answers at once here
app = create_app(_store, policy=gdpr_policy(), tokens=TOKEN_LINES, max_wait=0)
# 413 is how the API refuses more than 1,000 ids (the schema's maxItems): a rejection too.
CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {
            "negative_data_rejection": {
                "expected-statuses": [400, 401, 403, 404, 405, 406, 409, 413, 415, 422]
            }
        }
    }
)
schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=CONFIG)
AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
# Rules OpenAPI cannot state, answered 400 on purpose, so "every schema-valid request is
# accepted" does not hold there (every other check does): a cursor only continues the
# query that made it (same subject, same filters); granted needs category; until must
# be later than since; a change-feed cursor is only one the ledger's own kind makes (a
# row number here, a stream id on Redis).
CROSS_PARAMETER_RULES = {"/subjects/{id}/history", "/export", "/changes"}


@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_the_api_matches_its_openapi_document(case: schemathesis.Case) -> None:
    excluded = []
    if case.operation.path in CROSS_PARAMETER_RULES:
        excluded.append(positive_data_acceptance)
    # Where the case carries a bearer token (random), use a real one; where a negative case
    # dropped the header, leave it out: the API must answer 401 then.
    for name in list(case.headers or {}):
        if name.lower() == "authorization":
            case.headers[name] = AUTH["Authorization"]  # type: ignore[index]
    case.call_and_validate(excluded_checks=excluded)


def test_the_served_document_is_the_module_one() -> None:
    client = TestClient(app)
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.json() == openapi_document()
    assert response.json()["openapi"] == "3.1.0"
    operations = {
        (method.upper(), path)
        for path, item in openapi_document()["paths"].items()
        for method in item
    }
    routed = {
        (method, route.path)  # type: ignore[attr-defined]
        for route in app.routes
        for method in route.methods - {"HEAD"}  # type: ignore[attr-defined]
    }
    assert operations == routed
