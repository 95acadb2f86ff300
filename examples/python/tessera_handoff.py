"""Verify Tessera handoff tokens in Python, through the hub's published keys (JWKS).

A handoff token is a short-lived JWT the hub signs to carry one session to one site. This module
checks it the way every Tessera receiver does, and records its `jti` in Redis so it works once:

    verifier = HandoffVerifier(
        hub_url="https://login.example.com",
        site_origin="https://www.example.org",
        redis=Redis.from_url("redis://localhost:6379/0"),
    )
    claims = verifier.verify(token)  # or raises HandoffRejected(code, message)

Needs PyJWT 2.6+ with cryptography and redis-py (Debian: python3-jwt python3-redis).
Run it as a script to check tokens from the command line: `python3 tessera_handoff.py --help`.
"""
import argparse
import base64
import hmac
import json
import logging
import os
import re
import secrets
import sys
import threading
import time
from urllib.parse import urlencode, urlsplit

import jwt
from redis import Redis, RedisError

log = logging.getLogger("tessera")

HANDOFF_TYP = "handoff+jwt"
# Headers that would let a token choose its own key or demand unknown processing (RFC 8725).
FORBIDDEN_HEADERS = ("crit", "jku", "x5u", "jwk", "x5c")
KID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# The hub's sids and jtis: 128 random bits, base64url.
RANDOM_ID = re.compile(r"^[A-Za-z0-9_-]{22}$")
REQUIRED_CLAIMS = ["iss", "aud", "sid", "src", "dst", "iat", "exp", "jti"]


class HandoffRejected(Exception):
    """A token that must not be accepted. `code` is Tessera's reason code; log it, never the token.

    `status` is 400 for a bad token, 503 when the JWKS or Redis could not be reached (retry later;
    nothing was accepted).
    """

    def __init__(self, code, message, status=400):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


class _JWKSClient(jwt.PyJWKClient):
    """PyJWKClient that says when it fetches, so operators see key rotations in the log."""

    def fetch_data(self):
        log.info("fetching the hub's JWKS from %s", self.uri)
        return super().fetch_data()


class HandoffVerifier:
    """Checks handoff tokens for one site.

    hub_url: the hub's public origin, exactly as the hub's `publicUrl` (the tokens' `iss`).
    site_origin: this site's origin, exactly as configured at the hub (the tokens' `aud`).
    redis: a redis-py client where spent token ids are kept (`SET NX EX`).
    known_sources: hosts whose pages may embed this site's beacons (the tokens' `src`): the hub
        and your other sites. Default: the hub and this site.
    jwks_url: where the keys are published; default `<hub_url>/.well-known/jwks.json`.
    """

    def __init__(self, hub_url, site_origin, redis, *, known_sources=None, jwks_url=None,
                 algorithms=("RS256",), leeway=5, max_lifetime=120, max_token_bytes=4096,
                 jti_key_prefix="tessera-site:jti:", jwks_cache_seconds=300, refetch_cooldown=30):
        self.issuer = hub_url
        self.audience = site_origin
        self.destination = site_origin.split("://", 1)[1]
        self.redis = redis
        hub_host = hub_url.split("://", 1)[1]
        self.known_sources = set(known_sources or (hub_host, self.destination))
        # Pinned here, never taken from the token: no "none", no HMAC with a public key as secret.
        self.algorithms = list(algorithms)
        self.leeway = leeway
        self.max_lifetime = max_lifetime
        self.max_token_bytes = max_token_bytes
        self.jti_key_prefix = jti_key_prefix
        self.jwks = _JWKSClient(jwks_url or f"{hub_url}/.well-known/jwks.json", lifespan=jwks_cache_seconds)
        # PyJWKClient refetches the JWKS for every unknown kid; anyone can send one, so a refetch
        # for a kid not in the cached set happens at most once per cooldown.
        self.refetch_cooldown = refetch_cooldown
        self._last_refetch = float("-inf")
        self._lock = threading.Lock()

    def verify(self, token):
        """The token's claims when it is valid and seen for the first time; else HandoffRejected."""
        if not isinstance(token, str) or len(token) > self.max_token_bytes:
            raise HandoffRejected("ERR_HANDOFF_OVERSIZE", "token missing or too large")
        header = self._header(token)
        key = self._key(header["kid"])
        claims = self._claims(token, key)
        self._spend(claims)
        return claims

    def _header(self, token):
        parts = token.split(".")
        if len(parts) != 3:
            raise HandoffRejected("ERR_HANDOFF_MALFORMED", "not a compact JWS")
        header = _strict_json(parts[0], "ERR_HANDOFF_MALFORMED")
        _strict_json(parts[1], "ERR_HANDOFF_MALFORMED")
        if header.get("alg") not in self.algorithms:
            raise HandoffRejected("ERR_HANDOFF_ALG", "alg not allowed")
        if header.get("typ") != HANDOFF_TYP:
            raise HandoffRejected("ERR_HANDOFF_TYP", "typ is not handoff+jwt")
        if any(name in header for name in FORBIDDEN_HEADERS):
            raise HandoffRejected("ERR_HANDOFF_HEADER_FORBIDDEN", "forbidden header parameter")
        kid = header.get("kid")
        if kid is None:
            raise HandoffRejected("ERR_HANDOFF_KID_MISSING", "kid missing")
        # Checked before any lookup: a kid never reaches the JWKS client unless it looks like one.
        if not isinstance(kid, str) or not KID.match(kid):
            raise HandoffRejected("ERR_HANDOFF_KID_MALFORMED", "kid malformed")
        return header

    def _key(self, kid):
        try:
            with self._lock:
                found = self._cached_key(kid, refresh=False)
                if found is None and time.monotonic() - self._last_refetch >= self.refetch_cooldown:
                    self._last_refetch = time.monotonic()
                    found = self._cached_key(kid, refresh=True)
        except (jwt.PyJWKClientError, jwt.PyJWKSetError, ValueError, OSError) as error:
            raise HandoffRejected("ERR_JWKS_UNAVAILABLE", f"cannot read the hub's JWKS ({type(error).__name__})", 503) from None
        if found is None:
            raise HandoffRejected("ERR_HANDOFF_KID_UNKNOWN", "no published key has this kid")
        return found

    def _cached_key(self, kid, refresh):
        keys = self.jwks.get_signing_keys(refresh=refresh)
        return next((key for key in keys if key.key_id == kid), None)

    def _claims(self, token, key):
        try:
            claims = jwt.decode(
                token, key.key, algorithms=self.algorithms, audience=self.audience, issuer=self.issuer,
                leeway=self.leeway, options={"require": REQUIRED_CLAIMS},
            )
        except jwt.InvalidSignatureError:
            raise HandoffRejected("ERR_HANDOFF_SIGNATURE", "bad signature") from None
        except jwt.ExpiredSignatureError:
            raise HandoffRejected("ERR_HANDOFF_EXPIRED", "token expired") from None
        except jwt.ImmatureSignatureError:
            raise HandoffRejected("ERR_HANDOFF_IAT_FUTURE", "iat is in the future") from None
        except jwt.InvalidAudienceError:
            raise HandoffRejected("ERR_HANDOFF_AUDIENCE", "aud is not this site") from None
        except jwt.InvalidIssuerError:
            raise HandoffRejected("ERR_HANDOFF_ISSUER", "iss is not the hub") from None
        except jwt.MissingRequiredClaimError as error:
            code = "ERR_HANDOFF_JTI_MISSING" if error.claim == "jti" else "ERR_HANDOFF_CLAIMS"
            raise HandoffRejected(code, f"claim {error.claim} missing") from None
        except jwt.InvalidTokenError as error:
            raise HandoffRejected("ERR_HANDOFF_CLAIMS", f"invalid token ({type(error).__name__})") from None
        # What PyJWT does not check: the hub never issues audience lists, and dst, src, the
        # lifetime cap and the id shapes are Tessera's own claims.
        if claims["aud"] != self.audience:
            raise HandoffRejected("ERR_HANDOFF_AUDIENCE", "aud is not this site")
        if claims["dst"] != self.destination:
            raise HandoffRejected("ERR_HANDOFF_DESTINATION", "dst is not this site")
        if claims["src"] not in self.known_sources:
            raise HandoffRejected("ERR_HANDOFF_SOURCE", "src is neither the hub nor a known site")
        if not 0 < claims["exp"] - claims["iat"] <= self.max_lifetime:
            raise HandoffRejected("ERR_HANDOFF_LIFETIME", "lifetime above the cap")
        if not all(isinstance(claims[name], str) and RANDOM_ID.match(claims[name]) for name in ("sid", "jti")):
            raise HandoffRejected("ERR_HANDOFF_CLAIMS", "sid or jti malformed")
        if "sub" in claims and (not isinstance(claims["sub"], str) or claims["sub"] == ""):
            raise HandoffRejected("ERR_HANDOFF_CLAIMS", "sub malformed")
        return claims

    def _spend(self, claims):
        # Last, once everything else passed: a forged or expired token spends nothing. One atomic
        # command, so of two requests racing with one token exactly one wins.
        ttl = max(1, int(claims["exp"] + self.leeway - time.time()) + 1)
        try:
            first = self.redis.set(self.jti_key_prefix + claims["jti"], "1", nx=True, ex=ttl)
        except RedisError as error:
            raise HandoffRejected("ERR_STORE_UNAVAILABLE", f"cannot record the token id ({type(error).__name__})", 503) from None
        if not first:
            raise HandoffRejected("ERR_HANDOFF_REPLAYED", "token already used")


# The bounce (a top-level redirect through the hub and back), shared by the Flask and Django
# receivers: the site sends the browser to the hub with a fresh `state`, kept in a cookie; the hub
# posts the token back to `<receiver>accept` with the same `state` and the `return_to`.

RECEIVER_PATH = "/shared-session/"
STATE_COOKIE = "tessera_state"
# Where a redirect may go: a path on this site, never `//host` or `/\host` (browsers read both
# as another host), no control characters.
LOCAL_PATH = re.compile(r"^/(?![/\\])[^\\\x00-\x1f\x7f]*$")


def new_state():
    """A fresh bounce state: 256 random bits, the shape the hub accepts (16-128 base64url)."""
    return secrets.token_urlsafe(32)


def state_matches(expected, presented):
    """The state the hub sent back is the one this browser's cookie holds (constant time)."""
    return bool(expected) and bool(presented) and hmac.compare_digest(expected.encode(), presented.encode())


def site_path(url, site_origin):
    """The path and query of `url` when it is a page of this site, else "/" (no open redirect)."""
    parts = urlsplit(url or "/")
    if (parts.scheme or parts.netloc) and f"{parts.scheme}://{parts.netloc}" != site_origin:
        return "/"
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    return target if LOCAL_PATH.match(target) else "/"


def bounce_url(hub_url, site_origin, return_to, state, prompt="none"):
    """Where to send the browser to fetch a token: `prompt=none` answers `login_required` rather
    than showing the hub's login page; `prompt=login` asks the person to sign in."""
    query = {"dst": site_origin, "return_to": site_origin + site_path(return_to, site_origin), "state": state,
             "prompt": "login" if prompt == "login" else "none"}
    return f"{hub_url}/handoff?{urlencode(query)}"


def _strict_json(segment, code):
    """A base64url JSON object segment; duplicate member names are refused, not last-one-wins."""
    def no_duplicates(pairs):
        names = [name for name, _ in pairs]
        if len(names) != len(set(names)):
            raise HandoffRejected("ERR_HANDOFF_DUPLICATE_CLAIM", "duplicate member name")
        return dict(pairs)

    try:
        text = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)).decode("utf-8")
        value = json.loads(text, object_pairs_hook=no_duplicates)
    except (ValueError, UnicodeDecodeError):
        raise HandoffRejected(code, "not base64url JSON") from None
    if not isinstance(value, dict):
        raise HandoffRejected(code, "not a JSON object")
    return value


def main():
    parser = argparse.ArgumentParser(
        description="Check Tessera handoff tokens read from stdin, one per line. Prints one line per "
                    "token: 'accepted <claims JSON>' on stdout, or 'rejected <code>: <reason>' on "
                    "stdout and stderr. Exits 1 if any token was rejected.")
    parser.add_argument("--hub", default=os.environ.get("TESSERA_HUB_URL"), help="the hub's public origin (iss)")
    parser.add_argument("--site", default=os.environ.get("TESSERA_SITE_ORIGIN"), help="this site's origin (aud)")
    parser.add_argument("--jwks", default=os.environ.get("TESSERA_JWKS_URL"), help="JWKS URL (default: <hub>/.well-known/jwks.json)")
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--jti-prefix", default=os.environ.get("TESSERA_JTI_PREFIX", "tessera-site:jti:"))
    args = parser.parse_args()
    if not args.hub or not args.site:
        parser.error("--hub and --site (or TESSERA_HUB_URL and TESSERA_SITE_ORIGIN) are required")
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    verifier = HandoffVerifier(args.hub, args.site, Redis.from_url(args.redis), jwks_url=args.jwks,
                               jti_key_prefix=args.jti_prefix)
    rejected = 0
    for line in sys.stdin:
        try:
            claims = verifier.verify(line.strip())
            print("accepted " + json.dumps(claims, sort_keys=True), flush=True)
        except HandoffRejected as error:
            rejected += 1
            print(f"rejected {error}", flush=True)
            print(f"rejected {error}", file=sys.stderr, flush=True)
    return 1 if rejected else 0


if __name__ == "__main__":
    sys.exit(main())
