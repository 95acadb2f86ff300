"""Read the session the Tessera hub projected for this site (projection format `json`).

For a site whose /shared-session/ is routed to the hub (no Tessera code in the site): the hub
accepts the token, sets the site cookie and writes the session, as JSON, under
`<keyPrefix><cookie value>` in Redis. The site's pages only read it:

    user = read_projection(Redis.from_url(REDIS_URL), request.cookies.get("tessera_session"))
    if user is None: ...  # signed out: link to /shared-session/start?prompt=login&return_to=...

Command line: `python3 projection_reader.py <cookie value>` prints the session as JSON, or
"signed out" with exit status 1.
"""
import json
import os
import re
import sys

from redis import Redis

COOKIE_NAME = "tessera_session"
KEY_PREFIX = "tessera:projection:"
# The hub's site cookie for a projected site: the sid and the site's secret in hex, joined by "-".
SESSION_ID = re.compile(r"^[0-9a-f]{32}-[0-9a-f]{64}$")


def read_projection(redis, cookie_value, key_prefix=KEY_PREFIX):
    """The visitor's session (a dict with `sub`, `sid` and the other configured fields), or None.

    None when the cookie is missing or not one the hub sets (it never becomes part of a key),
    and when there is no session: signed out, expired or revoked (the hub deletes the key).
    """
    if not isinstance(cookie_value, str) or not SESSION_ID.match(cookie_value):
        return None
    raw = redis.get(key_prefix + cookie_value)
    if raw is None:
        return None
    session = json.loads(raw.decode("utf-8"))
    return session if isinstance(session, dict) else None


if __name__ == "__main__":
    client = Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    found = read_projection(client, sys.argv[1] if len(sys.argv) > 1 else None,
                            os.environ.get("TESSERA_PROJECTION_PREFIX", KEY_PREFIX))
    print(json.dumps(found, sort_keys=True) if found is not None else "signed out")
    sys.exit(0 if found is not None else 1)
