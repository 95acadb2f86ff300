"""Django middleware for the Tessera shared session.

It answers the receiver's two bounce routes itself, /shared-session/start and
/shared-session/accept (the hub's form_post), fills the site's own Django session from a verified
token, and sets `request.tessera` (None when signed out) for every view.

settings.py:

    MIDDLEWARE = [
        "django.middleware.security.SecurityMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django_tessera.TesseraMiddleware",  # after sessions; before CSRF: the hub's POST is cross-site
        "django.middleware.csrf.CsrfViewMiddleware",
        # ...
    ]
    TESSERA_HUB_URL = "https://login.example.com"
    TESSERA_SITE_ORIGIN = "https://www.example.org"
    TESSERA_REDIS_URL = "redis://localhost:6379/0"
"""
import logging

from django.conf import settings
from django.http import HttpResponse
from redis import Redis

from tessera_handoff import (RECEIVER_PATH, STATE_COOKIE, HandoffRejected, HandoffVerifier, bounce_url,
                             new_state, site_path, state_matches)


log = logging.getLogger("tessera")


def see_other(location):
    return HttpResponse(status=303, headers={"Location": location})


class TesseraMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.hub_url = settings.TESSERA_HUB_URL
        self.site_origin = settings.TESSERA_SITE_ORIGIN
        self.verifier = HandoffVerifier(self.hub_url, self.site_origin, Redis.from_url(settings.TESSERA_REDIS_URL),
                                        jwks_url=getattr(settings, "TESSERA_JWKS_URL", None))

    def __call__(self, request):
        if request.path == RECEIVER_PATH + "start" and request.method == "GET":
            return self.start(request)
        if request.path == RECEIVER_PATH + "accept" and request.method == "POST":
            # The token, bound to this browser by the state cookie, is what authenticates this
            # cross-site POST; it never reaches CsrfViewMiddleware or a view.
            return self.accept(request)
        request.tessera = request.session.get("tessera")
        return self.get_response(request)

    def start(self, request):
        state = new_state()
        response = see_other(bounce_url(self.hub_url, self.site_origin, request.GET.get("return_to"), state,
                                        request.GET.get("prompt", "none")))
        response.set_cookie(STATE_COOKIE, state, max_age=600, path=RECEIVER_PATH, secure=True, httponly=True,
                            samesite="None")
        return response

    def accept(self, request):
        if not state_matches(request.COOKIES.get(STATE_COOKIE), request.POST.get("state")):
            return HttpResponse("This sign-in did not start in this browser (ERR_HANDOFF_STATE).", status=400)
        target = site_path(request.POST.get("return_to"), self.site_origin)
        if request.POST.get("error") != "login_required":
            try:
                claims = self.verifier.verify(request.POST.get("token", ""))
            except HandoffRejected as rejected:
                log.warning("handoff rejected: %s", rejected.code)  # never the token
                return HttpResponse(f"Sign-in failed ({rejected.code}).", status=rejected.status)
            # A new session key for a new person, as django.contrib.auth.login does (no fixation).
            request.session.flush()
            request.session["tessera"] = {"sid": claims["sid"], "sub": claims.get("sub"),
                                          "email": claims.get("email"), "src": claims["src"]}
        response = see_other(target)
        response.delete_cookie(STATE_COOKIE, path=RECEIVER_PATH, samesite="None")
        return response
