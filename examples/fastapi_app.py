"""FastAPI behind ConsentMiddleware: ``uvicorn examples.fastapi_app:app``."""

import os
from pathlib import Path

from fastapi import FastAPI, Request, Response

from consent_mw import ConsentMiddleware, secret_from_env

app = FastAPI()
app.add_middleware(
    ConsentMiddleware,
    policy=Path(__file__).with_name("policy.toml"),
    secret_key=secret_from_env("CONSENT_MW_SECRET"),
    store=os.environ.get("CONSENT_MW_STORE", "sqlite:///consent-ledger.sqlite3"),
)


@app.get("/")
def home(request: Request, response: Response) -> dict:
    consent = request.state.consent
    response.set_cookie("_fbp", "fb.1.1.1")  # dropped unless advertising is allowed
    return {"personalised_ads": consent.personalised_ads, "gpc": consent.gpc}
