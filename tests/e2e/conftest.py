"""Browser tests: the real app under gunicorn, driven by Playwright in Debian's headless Chromium.

`tests/e2e/setup` installs Chromium (/usr/bin/chromium) and axe-core (tests/e2e/node_modules);
these fixtures fail, never skip, when either is missing. The app runs against a fresh SQLite
database holding the demo organisation "Ciutat Demo" (host 127.0.0.1, also localhost).
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
CHROMIUM = Path("/usr/bin/chromium")
AXE_JS = HERE / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


@dataclass(frozen=True)
class LiveServer:
    url: str
    log: Path
    idp_url: str

    def log_size(self) -> int:
        return self.log.stat().st_size

    def log_since(self, offset: int) -> str:
        with self.log.open("rb") as fh:
            fh.seek(offset)
            return fh.read().decode("utf-8", "replace")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(args: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        pytest.fail(
            f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}", pytrace=False
        )


def _wait_until_up(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"gunicorn exited with {proc.returncode}:\n{log.read_text()}", pytrace=False)
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    pytest.fail(f"gunicorn did not answer on {url} within {timeout:.0f}s:\n{log.read_text()}", pytrace=False)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app under gunicorn (2 workers) on a free port, with a migrated and seeded database."""
    tmp = tmp_path_factory.mktemp("e2e")
    port, idp_port = _free_port(), _free_port()
    url, idp_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{idp_port}"
    env = dict(os.environ)
    env.update(
        DECIDIM_DATABASE_URL=f"sqlite:///{tmp / 'e2e.sqlite3'}",
        DECIDIM_SECRET_KEY=secrets.token_urlsafe(32),
        DECIDIM_KEY_FILE=str(tmp / "identity_keys.json"),
        DECIDIM_DEV_SIGN_IN="1",
        DECIDIM_ALLOW_INSECURE_ISSUERS="1",
        DECIDIM_PUBLIC_URL_TEMPLATE=f"http://{{host}}:{port}",
        PYTHONDONTWRITEBYTECODE="1",
    )
    flask = str(VENV_BIN / "flask")
    _run([flask, "--app", "app", "db", "upgrade"], env)
    _run([flask, "--app", "app", "demo", "seed"], env)

    # The development identity provider (npm oidc-provider), as `devtools/run` starts it.
    clients = [{"client_id": "decidim-e2e", "client_secret": "decidim-e2e-secret",
                "redirect_uris": [f"{url}/auth/dev/callback"], "post_logout_redirect_uris": [f"{url}/"],
                "backchannel_logout_uri": f"{url}/auth/dev/backchannel-logout"}]
    idp_log = tmp / "dev-idp.log"
    idp_env = {**env, "DEV_IDP_PORT": str(idp_port), "DEV_IDP_ISSUER": idp_url,
               "DEV_IDP_CLIENTS": json.dumps(clients)}
    with idp_log.open("wb") as out:
        idp = subprocess.Popen([str(ROOT / "devtools/dev-idp/start")], env=idp_env, stdout=out,
                               stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 90
    while "dev-idp listening" not in idp_log.read_text() and time.monotonic() < deadline:
        if idp.poll() is not None:
            pytest.fail(f"the development identity provider exited:\n{idp_log.read_text()}", pytrace=False)
        time.sleep(0.2)
    if "dev-idp listening" not in idp_log.read_text():
        idp.kill()
        pytest.fail(f"the development identity provider did not start:\n{idp_log.read_text()}", pytrace=False)
    acr = {f"urn:decidim:dev:loa:{lv}": lv for lv in ("low", "substantial", "high")}
    _run([flask, "--app", "app", "identity", "provider-add", "--host", "127.0.0.1", "--slug", "dev",
          "--name", "Development identity provider", "--issuer", idp_url, "--client-id", "decidim-e2e",
          "--client-secret", "decidim-e2e-secret", "--scopes", "openid profile address birthdate national_id",
          "--acr-map", json.dumps(acr), "--backchannel-logout"], env)

    log = tmp / "gunicorn.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(VENV_BIN / "gunicorn"), "--workers", "2", "--bind", f"127.0.0.1:{port}", "app:app"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_up(url, proc, log)
        yield LiveServer(url=url, log=log, idp_url=idp_url)
    finally:
        idp.terminate()
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Playwright]:
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run tests/e2e/setup", pytrace=False)
    b = playwright_instance.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield b
    b.close()


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE_JS.exists():
        pytest.fail(f"{AXE_JS} is missing: run tests/e2e/setup", pytrace=False)
    return AXE_JS.read_text(encoding="utf-8")


def _new_context(browser: Browser, live_server: LiveServer, **options: Any) -> BrowserContext:
    ctx = browser.new_context(base_url=live_server.url, **options)
    ctx.set_default_timeout(10_000)
    ctx.set_default_navigation_timeout(15_000)
    return ctx


@pytest.fixture
def context(browser: Browser, live_server: LiveServer) -> Iterator[BrowserContext]:
    """A fresh browser profile. CSP is bypassed only so that axe can be injected; the app's own
    CSP header is untouched (test_csp checks that pages work under it)."""
    ctx = _new_context(browser, live_server, bypass_csp=True)
    yield ctx
    ctx.close()


@pytest.fixture
def new_context(browser: Browser, live_server: LiveServer) -> Iterator[Any]:
    """Factory for contexts with other options (no JavaScript, CSP enforced)."""
    made: list[BrowserContext] = []

    def make(**options: Any) -> BrowserContext:
        ctx = _new_context(browser, live_server, **options)
        made.append(ctx)
        return ctx

    yield make
    for ctx in made:
        ctx.close()


@pytest.fixture(autouse=True)
def no_server_errors(live_server: LiveServer) -> Iterator[None]:
    """Fail a test during which the app logged an exception (even behind a friendly error page)."""
    start = live_server.log_size()
    yield
    logged = live_server.log_since(start)
    assert "Traceback" not in logged, f"the app logged an exception:\n{logged}"


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    p = context.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda exc: errors.append(str(exc)))
    yield p
    assert not errors, f"JavaScript errors on the page: {errors}"


def format_violations(url: str, violations: list[dict[str, Any]]) -> str:
    lines = [f"axe found {len(violations)} violation(s) on {url}:"]
    for v in violations:
        lines.append(f"- {v['id']} [{v.get('impact')}] {v['help']} ({v.get('helpUrl', '')})")
        for node in v.get("nodes", []):
            target = " ".join(json.dumps(t) if not isinstance(t, str) else t for t in node.get("target", []))
            lines.append(f"    target: {target}")
            lines.append(f"      html: {node.get('html', '')[:300]}")
            summary = (node.get("failureSummary") or "").replace("\n", " | ")
            if summary:
                lines.append(f"      why:  {summary[:500]}")
    return "\n".join(lines)


@pytest.fixture
def check_axe(axe_source: str) -> Any:
    """check_axe(page): run axe-core (WCAG 2.0/2.1 A and AA) on the page; fail with details."""

    def run(page: Page) -> None:
        if not page.evaluate("() => typeof window.axe === 'object'"):
            page.add_script_tag(content=axe_source)
        result = page.evaluate(
            """async (tags) => {
                const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
                return {violations: r.violations.map(v => ({
                    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
                    nodes: v.nodes.map(n => ({target: n.target, html: n.html,
                                              failureSummary: n.failureSummary}))
                }))};
            }""",
            AXE_TAGS,
        )
        violations = result["violations"]
        assert not violations, format_violations(page.url, violations)

    return run

