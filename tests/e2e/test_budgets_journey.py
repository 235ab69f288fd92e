"""Budgets journey in Chromium, with axe-core on every page visited: residents fill a ballot under
each of the three ballot rules of b.3 (a share of the budget, a minimum of projects, a number of
selected projects), check out and see their receipt; an administrator closes voting (the outcome job
runs, here in Huey's immediate mode); each resident finds their receipt in the published ballots.

The demo's budgets component of "pressupostos-2027" has a city-wide budget open to every resident.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from . import conftest as e2e
from .test_participation_journeys import click_and_wait, dev_sign_in, visit

pytestmark = pytest.mark.e2e

PROCESS = "pressupostos-2027"


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[e2e.LiveServer]:
    """This module's own app and database (the journey votes and closes the demo's budget), with the
    outcome job run by Huey in immediate mode inside the closing request."""
    before = os.environ.get("DECIDIM_HUEY_IMMEDIATE")
    os.environ["DECIDIM_HUEY_IMMEDIATE"] = "1"
    try:
        started = e2e.live_server.__wrapped__(tmp_path_factory)
        server = next(started)
    finally:
        if before is None:
            os.environ.pop("DECIDIM_HUEY_IMMEDIATE", None)
        else:
            os.environ["DECIDIM_HUEY_IMMEDIATE"] = before
    yield server
    next(started, None)


def budgets_home(page: Page, check_axe: Any) -> str:
    """The budgets component's public path, found from the process page."""
    visit(page, check_axe, f"/processes/{PROCESS}")
    link = page.locator(f"main a[href^='/processes/{PROCESS}/budgets/']").first
    href = link.get_attribute("href")
    assert href, "no link to the budgets component"
    return href.rstrip("/")


def city_budget(page: Page, check_axe: Any, base: str) -> str:
    visit(page, check_axe, base + "/")
    link = page.locator(f"main .budgets a[href^='{base}/']").first
    href = link.get_attribute("href")
    assert href
    return href


def fill_and_check_out(page: Page, check_axe: Any, budget_url: str, positions: list[int]) -> str:
    """Add the projects (by their position from the cheapest; titles are in each person's language),
    check out, return the receipt shown."""
    for position in positions:
        visit(page, check_axe, budget_url + "?order=lowest_cost")
        card = page.locator("main li.card.project-card").nth(position)
        with page.expect_navigation():
            card.locator("form[action$='/add'] button").click()
        assert page.url.split("?", 1)[0].endswith(budget_url.split("?", 1)[0]), page.url
        check_axe(page)
    meter = page.locator("#ballot-meter")
    expect(meter).to_have_count(1)
    expect(page.locator("#ballot-progress")).not_to_be_empty()
    click_and_wait(page, f"main form[action='{budget_url}/checkout'] button")
    check_axe(page)
    code = page.locator("#receipt-code").inner_text()
    assert re.fullmatch(r"([0-9A-Z]{4}-){7}[0-9A-Z]{4}", code), code
    return code


def sign_out(page: Page) -> None:
    with page.expect_navigation():
        page.locator("header form[action='/sign-out'] button").click()


def set_rule(page: Page, check_axe: Any, component_id: str, flags: dict[str, bool], numbers: dict[str, str]) -> None:
    """The administrator changes the component's ballot rule on the component settings page."""
    visit(page, check_axe, f"/admin/processes/{PROCESS}/components/{component_id}/edit")
    for name, on in flags.items():
        box = page.locator(f"input[name='global-{name}']")
        box.check() if on else box.uncheck()
    for name, value in numbers.items():
        page.fill(f"input[name='global-{name}']", value)
    with page.expect_navigation() as sent:
        page.locator("main form[method='post'] button[type='submit']").last.click()
    assert sent.value is not None and sent.value.status == 200, sent.value and sent.value.status
    check_axe(page)


RULE_FLAGS = ("vote_rule_threshold_percent_enabled", "vote_rule_minimum_budget_projects_enabled",
              "vote_rule_selected_projects_enabled")


def only(flag: str) -> dict[str, bool]:
    return {f: f == flag for f in RULE_FLAGS}


def test_residents_vote_under_each_rule_and_find_their_receipts(page: Page, check_axe: Any,
                                                                  live_server: Any) -> None:
    dev_sign_in(page, check_axe, "pere", f"/processes/{PROCESS}")
    base = budgets_home(page, check_axe)
    component_id = base.rsplit("/", 1)[-1]
    budget_url = city_budget(page, check_axe, base)
    # 1. a share of the budget (70 %): 300 000 + 450 000 of 1 000 000
    # (from the cheapest: fountains 120 000, library 200 000, trees 300 000, bike lane 450 000)
    receipts = {"pere": fill_and_check_out(page, check_axe, budget_url, [2, 3])}
    sign_out(page)

    dev_sign_in(page, check_axe, "admin", f"/admin/processes/{PROCESS}/components/{component_id}/edit")
    set_rule(page, check_axe, component_id, only(RULE_FLAGS[1]), {"vote_minimum_budget_projects_number": "2"})
    sign_out(page)
    # 2. at least two projects, whatever their share of the budget
    dev_sign_in(page, check_axe, "lucia", budget_url)
    receipts["lucia"] = fill_and_check_out(page, check_axe, budget_url, [0, 1])
    sign_out(page)

    dev_sign_in(page, check_axe, "admin", f"/admin/processes/{PROCESS}/components/{component_id}/edit")
    set_rule(page, check_axe, component_id, only(RULE_FLAGS[2]), {
        "vote_selected_projects_minimum": "1", "vote_selected_projects_maximum": "1"})
    sign_out(page)
    # 3. exactly one selected project (its cost does not count)
    dev_sign_in(page, check_axe, "sam", budget_url)
    visit(page, check_axe, budget_url)
    receipts["sam"] = fill_and_check_out(page, check_axe, budget_url, [3])
    sign_out(page)

    # The administrator closes voting; the outcome is computed and published.
    budget_id = budget_url.rsplit("/", 1)[-1]
    admin_budget = f"/admin/processes/{PROCESS}/components/budgets/{component_id}/budgets/{budget_id}"
    dev_sign_in(page, check_axe, "admin", admin_budget)
    admin_base = admin_budget.rsplit("/budgets/", 1)[0]
    for path in ("/", "/budgets/new", f"/budgets/{budget_id}/projects/new", f"/budgets/{budget_id}/import-ballots",
                 f"/budgets/{budget_id}/edit"):
        visit(page, check_axe, admin_base + path)
    visit(page, check_axe, admin_budget)
    click_and_wait(page, f"main form[action='{admin_budget}/close'] button")
    assert page.url.endswith(f"{admin_budget}/result"), page.url
    check_axe(page)
    expect(page.locator("main a[href$='/results.json']")).to_have_count(1)
    sign_out(page)

    visit(page, check_axe, base + "/")
    visit(page, check_axe, budget_url)
    project_url = page.locator("main a[href*='/projects/']").first.get_attribute("href")
    assert project_url
    visit(page, check_axe, project_url)
    visit(page, check_axe, f"{budget_url}/results")
    expect(page.locator("main table tbody tr")).to_have_count(4)
    ballots = page.request.get(f"{live_server.url}{budget_url}/ballots.pb")
    assert ballots.ok
    text = ballots.text()
    for nickname, code in receipts.items():
        digest = hashlib.sha256(code.replace("-", "").encode()).hexdigest()
        assert digest in text, nickname
        visit(page, check_axe, f"{budget_url}/receipt")
        page.fill("input[name='code']", code)
        with page.expect_navigation():
            page.locator("main form[method='post'] button[type='submit']").click()
        expect(page.locator("#receipt-found")).to_have_count(1)
        check_axe(page)
    visit(page, check_axe, f"{budget_url}/receipt")
    page.fill("input[name='code']", "0000-0000-0000-0000")
    with page.expect_navigation():
        page.locator("main form[method='post'] button[type='submit']").click()
    expect(page.locator("#receipt-missing")).to_have_count(1)
    check_axe(page)
