"""Starlette behind ConsentMiddleware: ``uvicorn examples.starlette_app:app``."""

import os
from pathlib import Path

from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from consent_mw import ConsentMiddleware, secret_from_env


async def home(request):
    consent = request.state.consent
    response = PlainTextResponse(f"analytics allowed: {consent.allows('analytics')}")
    response.set_cookie("_ga", "GA1.1.1.1")  # dropped unless analytics is allowed
    return response


app = ConsentMiddleware(
    Starlette(routes=[Route("/", home)]),
    policy=Path(__file__).with_name("policy.toml"),
    secret_key=secret_from_env("CONSENT_MW_SECRET"),
    store=os.environ.get("CONSENT_MW_STORE", "sqlite:///consent-ledger.sqlite3"),
)
