"""The example's views: they read ``request.consent`` and set cookies as any site would;
the middleware keeps what the visitor has not allowed from leaving the server."""

import asyncio

from django.http import JsonResponse, StreamingHttpResponse
from django.shortcuts import render


def home(request):
    response = render(request, "shop/home.html")
    response.set_cookie("_ga", "GA1.1.1.1", max_age=60 * 60 * 24 * 365)  # analytics
    response.set_cookie("_fbp", "fb.1.2", max_age=60 * 60 * 24 * 90)  # advertising
    return response


async def offers(request):
    """An async view: under ASGI the middleware runs without a thread."""
    await asyncio.sleep(0)
    consent = request.consent
    return JsonResponse(
        {
            "personalised": consent.personalised_ads,
            "analytics": consent.allows("analytics"),
            "campaign": request.GET.get("gclid"),  # hidden without advertising consent
        }
    )


def feed(request):
    """A streamed page: its tracker tags are neutralised as the chunks go out."""

    def chunks():
        yield b"<!doctype html><html><head><title>Feed</title>"
        yield b'<script async src="https://www.googletagmanager.com/gtag/js?id=G-SHOP"></script>'
        yield b"</head><body><p>Today's shows</p></body></html>"

    return StreamingHttpResponse(chunks(), content_type="text/html; charset=utf-8")
