"""Real processes for end-to-end identity tests: the development OpenID provider (node) and the
platform served over HTTP, with `requests` sessions as browsers."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import requests
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parents[2]
ACR_MAP = {"urn:decidim:dev:loa:low": "low", "urn:decidim:dev:loa:substantial": "substantial",
           "urn:decidim:dev:loa:high": "high"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DevIdp:
    def __init__(self, app_port: int, log_path: Path) -> None:
        # Two attempts: on a loaded machine a start can stall, or the free port can be taken by
        # another process between choosing it and binding it.
        for attempt in (1, 2):
            try:
                self._start(app_port, log_path)
                return
            except RuntimeError:
                if attempt == 2:
                    raise

    def _start(self, app_port: int, log_path: Path) -> None:
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        base = f"http://127.0.0.1:{app_port}"
        clients = [{
            "client_id": "decidim-test", "client_secret": "decidim-test-secret",
            "redirect_uris": [f"{base}/auth/dev/callback"], "post_logout_redirect_uris": [f"{base}/"],
            "backchannel_logout_uri": f"{base}/auth/dev/backchannel-logout",
        }]
        env = {**os.environ, "DEV_IDP_PORT": str(self.port), "DEV_IDP_ISSUER": self.issuer,
               "DEV_IDP_CLIENTS": json.dumps(clients)}
        self.log_path = log_path
        self._log = log_path.open("w")
        self.proc = subprocess.Popen([str(ROOT / "devtools/dev-idp/start")], env=env, stdout=self._log,
                                     stderr=subprocess.STDOUT)
        deadline = time.time() + 120
        while time.time() < deadline:
            if "dev-idp listening" in log_path.read_text():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the development identity provider did not start:\n{log_path.read_text()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self._log.close()


class LiveApp:
    """The Flask app served by werkzeug in a thread (several threads: the provider calls back)."""

    def __init__(self, app: Any, port: int) -> None:
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.server = make_server("127.0.0.1", port, app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()


CSRF_RE = re.compile(r'<input[^>]*name="csrf_token"[^>]*>')
VALUE_RE = re.compile(r'value="([^"]+)"')


class Browser:
    """A requests session that follows redirects by hand (to see where each hop goes)."""

    def __init__(self) -> None:
        self.http = requests.Session()

    def get(self, url: str, **kw: Any) -> requests.Response:
        return self.http.get(url, allow_redirects=False, timeout=15, **kw)

    def post(self, url: str, data: dict[str, str]) -> requests.Response:
        return self.http.post(url, data=data, allow_redirects=False, timeout=15)

    def follow(self, response: requests.Response, stop_at: str | None = None, limit: int = 10) -> requests.Response:
        while response.status_code in (301, 302, 303, 307) and limit:
            url = urljoin(response.url, response.headers["Location"])
            if stop_at and url.startswith(stop_at):
                return response
            response = self.get(url)
            limit -= 1
        return response

    @staticmethod
    def csrf(html: str) -> str:
        m = CSRF_RE.search(html)
        assert m, "no CSRF token on the page"
        v = VALUE_RE.search(m.group(0))
        assert v, "no CSRF token value"
        return v.group(1)

    def sign_in(self, app: LiveApp, persona: str, *, level: str = "low", step_up: bool = False) -> requests.Response:
        page = self.get(f"{app.base}/sign-in")
        data = {"csrf_token": self.csrf(page.text), "next": "/", "level": level}
        if step_up:
            data["step_up"] = "1"
        r = self.follow(self.post(f"{app.base}/auth/dev/start", data))
        assert "/interaction/" in r.url, (r.status_code, r.url, r.text[:500])
        r = self.post(r.url.rstrip("/") + "/login", {"persona": persona})
        return self.follow(r)

    def sign_up(self, app: LiveApp, response: requests.Response, nickname: str, name: str) -> requests.Response:
        assert response.url.endswith("/sign-up"), (response.status_code, response.url, response.text[:800])
        data = {"csrf_token": self.csrf(response.text), "nickname": nickname, "name": name, "locale": "en",
                "accept_terms": "y"}
        return self.follow(self.post(f"{app.base}/sign-up", data))
