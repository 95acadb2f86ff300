"""A Flask site on the Tessera shared session.

The receiver is a blueprint under /shared-session/: `start` bounces the browser through the hub,
`accept` takes the token the hub posts back (form_post), verifies it and fills the site's own
Flask session. Pages read `session["tessera"]`.

    TESSERA_HUB_URL=https://login.example.com TESSERA_SITE_ORIGIN=https://www.example.org \\
    REDIS_URL=redis://localhost:6379/0 FLASK_SECRET_KEY=... flask --app flask_site run
"""
import os

from flask import Blueprint, Flask, current_app, redirect, request, session
from redis import Redis

from tessera_handoff import (RECEIVER_PATH, STATE_COOKIE, HandoffRejected, HandoffVerifier, bounce_url,
                             new_state, site_path, state_matches)


def tessera_receiver(verifier, hub_url, site_origin):
    """The receiver's routes, for `app.register_blueprint(…, url_prefix="/shared-session")`."""
    receiver = Blueprint("tessera", __name__)

    @receiver.get("/start")
    def start():
        state = new_state()
        response = redirect(bounce_url(hub_url, site_origin, request.args.get("return_to"), state,
                                       request.args.get("prompt", "none")), 303)
        # SameSite=None: the hub's form POST back to accept is a cross-site request.
        response.set_cookie(STATE_COOKIE, state, max_age=600, path=RECEIVER_PATH, secure=True, httponly=True,
                            samesite="None")
        return response

    @receiver.post("/accept")
    def accept():
        if not state_matches(request.cookies.get(STATE_COOKIE), request.form.get("state")):
            return "This sign-in did not start in this browser (ERR_HANDOFF_STATE).", 400
        target = site_path(request.form.get("return_to"), site_origin)
        if request.form.get("error") != "login_required":
            try:
                claims = verifier.verify(request.form.get("token", ""))
            except HandoffRejected as rejected:
                current_app.logger.warning("handoff rejected: %s", rejected.code)  # never the token
                return f"Sign-in failed ({rejected.code}).", rejected.status
            # A new visitor session: nothing from before carries over (no fixation).
            session.clear()
            session["tessera"] = {"sid": claims["sid"], "sub": claims.get("sub"), "email": claims.get("email"),
                                  "src": claims["src"]}
        response = redirect(target, 303)
        response.delete_cookie(STATE_COOKIE, path=RECEIVER_PATH, secure=True, httponly=True, samesite="None")
        return response

    return receiver


def create_app(verifier=None):
    hub_url = os.environ["TESSERA_HUB_URL"]
    site_origin = os.environ["TESSERA_SITE_ORIGIN"]
    app = Flask(__name__)
    app.secret_key = os.environ["FLASK_SECRET_KEY"]
    app.config.update(SESSION_COOKIE_SECURE=True, SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax")
    verifier = verifier or HandoffVerifier(hub_url, site_origin, Redis.from_url(os.environ["REDIS_URL"]),
                                           jwks_url=os.environ.get("TESSERA_JWKS_URL"))
    app.register_blueprint(tessera_receiver(verifier, hub_url, site_origin), url_prefix=RECEIVER_PATH.rstrip("/"))

    @app.get("/")
    def home():
        user = session.get("tessera")
        if user is None:
            return {"signed_in": False, "sign_in": f"{RECEIVER_PATH}start?prompt=login&return_to=/"}
        return {"signed_in": True, "sub": user["sub"], "email": user["email"], "src": user["src"]}

    return app
