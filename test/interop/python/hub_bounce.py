"""Test helper: the hub's side of a bounce, done for real.

The site's `start` redirected to the hub's public URL (TESSERA_HUB_URL); the test hub listens on
HUB_REAL_URL, so the request goes there, signed in with the hub cookie HUB_COOKIE, and the
auto-submitting form the hub answers is read back like a browser would submit it.
"""
import html
import os
import re
import urllib.request
from urllib.parse import urlsplit


def hub_form(location):
    public = os.environ["TESSERA_HUB_URL"]
    if not location.startswith(public + "/handoff?"):
        raise AssertionError(f"start did not redirect to the hub's /handoff: {location}")
    request = urllib.request.Request(os.environ["HUB_REAL_URL"] + location[len(public):],
                                     headers={"Cookie": "__Host-tessera=" + os.environ["HUB_COOKIE"]})
    with urllib.request.urlopen(request) as response:
        page = response.read().decode("utf-8")
    action = re.search(r'<form id="handoff"[^>]* action="([^"]+)"', page).group(1)
    fields = {name: html.unescape(value) for name, value in re.findall(r'name="(token|state|return_to)" value="([^"]*)"', page)}
    return urlsplit(html.unescape(action)).path, fields
