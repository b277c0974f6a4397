"""Flask behind WSGIConsentMiddleware: ``flask --app examples.flask_app run``."""

import os
from pathlib import Path

from flask import Flask, request

from consent_mw import WSGIConsentMiddleware, secret_from_env

app = Flask(__name__)
app.wsgi_app = WSGIConsentMiddleware(
    app.wsgi_app,
    policy=Path(__file__).with_name("policy.toml"),
    secret_key=secret_from_env("CONSENT_MW_SECRET"),
    store=os.environ.get("CONSENT_MW_STORE", "sqlite:///consent-ledger.sqlite3"),
)


@app.get("/")
def home():
    consent = request.environ["consent_mw.consent"]
    response = app.make_response(f"analytics allowed: {consent.allows('analytics')}")
    response.set_cookie("_ga", "GA1.1.1.1")  # dropped unless analytics is allowed
    return response
