"""An administrator creates a process with three phases and activates the second one, in the
browser, with axe-core run on every admin page visited; the admin log lists both decisions."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

SLUG = "e2e-barri-verd"
PHASES = [
    ("Informació", "Información", "Information"),
    ("Propostes", "Propuestas", "Proposals"),
    ("Votació", "Votación", "Voting"),
]


def visit(page: Page, check_axe: Any, path: str) -> None:
    response = page.goto(path)
    assert response is not None and response.status == 200, f"{path} answered {response and response.status}"
    check_axe(page)


def submit(page: Page) -> None:
    """Press the submit button of the page's edit form (the one with the title inputs)."""
    form = page.locator("main form[method='post']:has(input[name='title-ca'])")
    expect(form).to_have_count(1)
    with page.expect_navigation():
        form.locator("button[type='submit']").click()


def test_admin_creates_process_with_phases_and_activates_one(page: Page, check_axe: Any) -> None:
    # Dev sign-in: one POST form per persona; Anna Puig (@admin) administers the organisation.
    visit(page, check_axe, "/sign-in")
    persona = page.locator("form[action*='sign-in']").filter(has_text="@admin)").locator("button")
    expect(persona).to_have_count(1)
    with page.expect_navigation():
        persona.click()
    expect(page.locator("form[action*='sign-out']")).to_have_count(1)

    # The process. Sending the empty form first shows the error summary, which must be accessible.
    visit(page, check_axe, "/admin/processes/new")
    with page.expect_navigation() as sent:
        page.locator("main form:has(input[name='slug']) button[type='submit']").click()
    assert sent.value is not None and sent.value.status == 422, sent.value and sent.value.status
    expect(page.locator(".error-summary[role='alert']")).to_be_visible()
    expect(page.locator("input[name='title-ca']")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("input[name='slug']")).to_have_attribute("aria-invalid", "true")
    check_axe(page)
    page.fill("input[name='title-ca']", "Barri verd")
    page.fill("input[name='title-es']", "Barrio verde")
    page.fill("input[name='title-en']", "Green neighbourhood")
    page.fill("input[name='slug']", SLUG)
    hosts = page.locator("select[name='host_id'] option")
    expect(hosts.first).to_be_attached()
    page.select_option("select[name='host_id']", value=hosts.first.get_attribute("value"))
    submit(page)
    assert page.url.endswith(f"/admin/processes/{SLUG}/steps"), page.url
    expect(page.locator("[role='status']").first).to_be_visible()
    check_axe(page)

    # Three phases.
    for ca, es, en in PHASES:
        visit(page, check_axe, f"/admin/processes/{SLUG}/steps/new")
        page.fill("input[name='title-ca']", ca)
        page.fill("input[name='title-es']", es)
        page.fill("input[name='title-en']", en)
        submit(page)
        assert page.url.endswith(f"/admin/processes/{SLUG}/steps"), page.url
        check_axe(page)
    rows = page.locator("main table tbody tr")
    expect(rows).to_have_count(3)

    # Activate the second phase with its own "Activate …" button.
    visit(page, check_axe, f"/admin/processes/{SLUG}/steps")
    activate = rows.nth(1).locator("form[action$='/activate'] button")
    expect(activate).to_have_count(1)
    expect(activate).to_contain_text(PHASES[1][0])
    with page.expect_navigation():
        activate.click()
    assert page.url.endswith(f"/admin/processes/{SLUG}/steps"), page.url
    check_axe(page)
    # The second phase is now the active one: it has no Activate button, the others do.
    expect(rows.nth(1).locator("form[action$='/activate']")).to_have_count(0)
    expect(rows.nth(0).locator("form[action$='/activate']")).to_have_count(1)
    expect(rows.nth(2).locator("form[action$='/activate']")).to_have_count(1)

    # The decisions are on the record.
    visit(page, check_axe, "/admin/log")
    actions = page.locator("table.log tbody td code").all_inner_texts()
    assert "processes.process.create" in actions, actions
    assert "processes.step.activate" in actions, actions
    # Filtering the log by action prefix (a GET form) keeps the activation.
    visit(page, check_axe, "/admin/log?action=processes.step.activate")
    expect(page.locator("table.log tbody td code", has_text=re.compile(r"^processes\.step\.activate$")))\
        .not_to_have_count(0)
