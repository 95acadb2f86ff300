"""Test driver: examples/python/django_tessera.py's middleware in Django's test client (CSRF
checks on), bounced through the real hub."""
import json
import os
from urllib.parse import parse_qs, urlsplit

import django
from django.conf import settings

settings.configure(
    SECRET_KEY="test-only-" + "x" * 40,
    ALLOWED_HOSTS=["www.example.org"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=["django.contrib.sessions"],
    SESSION_ENGINE="django.contrib.sessions.backends.signed_cookies",
    MIDDLEWARE=[
        "django.middleware.security.SecurityMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django_tessera.TesseraMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
    ],
    TESSERA_HUB_URL=os.environ["TESSERA_HUB_URL"],
    TESSERA_SITE_ORIGIN=os.environ["TESSERA_SITE_ORIGIN"],
    TESSERA_REDIS_URL=os.environ["REDIS_URL"],
    TESSERA_JWKS_URL=os.environ["TESSERA_JWKS_URL"],
)
django.setup()

from django.http import JsonResponse  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import path  # noqa: E402

from hub_bounce import hub_form  # noqa: E402


def home(request):
    return JsonResponse({"tessera": request.tessera})


def post_only(request):
    return JsonResponse({"reached": True})


urlpatterns = [path("", home), path("form", post_only)]

client = Client(enforce_csrf_checks=True, HTTP_HOST="www.example.org")
out = {}
started = client.get("/shared-session/start", {"return_to": "/basket?x=1"}, secure=True)
out["start"] = {"status": started.status_code, "location": started["Location"]}
accept_path, form = hub_form(started["Location"])
accepted = client.post(accept_path, form, secure=True)
out["accept"] = {"path": accept_path, "status": accepted.status_code, "location": accepted.get("Location")}
out["home"] = json.loads(client.get("/", secure=True).content)

again = client.get("/shared-session/start", {"return_to": "/"}, secure=True)
state = parse_qs(urlsplit(again["Location"]).query)["state"][0]
replayed = client.post(accept_path, {**form, "state": state}, secure=True)
out["replay"] = {"status": replayed.status_code, "body": replayed.content.decode()}

forged_state = client.post(accept_path, {**form, "state": "A" * 43}, secure=True)
out["wrong_state"] = {"status": forged_state.status_code, "body": forged_state.content.decode()}
# CSRF protection still guards the site's own forms: only the receiver's accept is exempt.
out["csrf"] = client.post("/form", {}, secure=True).status_code
print(json.dumps(out))
