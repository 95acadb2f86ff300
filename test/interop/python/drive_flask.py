"""Test driver: examples/python/flask_site.py in Flask's test client, bounced through the real hub."""
import json
from urllib.parse import parse_qs, urlsplit

from flask_site import create_app
from hub_bounce import hub_form

SITE = "https://www.example.org"
client = create_app().test_client()
out = {}

started = client.get("/shared-session/start?return_to=/basket%3Fx%3D1", base_url=SITE)
out["start"] = {"status": started.status_code, "location": started.headers["Location"],
                "cookie": started.headers.get("Set-Cookie", "")}
accept_path, form = hub_form(started.headers["Location"])
accepted = client.post(accept_path, data=form, base_url=SITE)
out["accept"] = {"path": accept_path, "status": accepted.status_code, "location": accepted.headers.get("Location")}
out["home"] = client.get("/", base_url=SITE).get_json()

# The same token again, in a bounce of its own (a fresh, matching state): a replay.
again = client.get("/shared-session/start?return_to=/", base_url=SITE)
state = parse_qs(urlsplit(again.headers["Location"]).query)["state"][0]
replayed = client.post(accept_path, data={**form, "state": state}, base_url=SITE)
out["replay"] = {"status": replayed.status_code, "body": replayed.get_data(as_text=True)}

forged_state = client.post(accept_path, data={**form, "state": "A" * 43}, base_url=SITE)
out["wrong_state"] = {"status": forged_state.status_code, "body": forged_state.get_data(as_text=True)}
print(json.dumps(out))
