"""The dashboard in a browser, for a token bound to a team: it shows only the team's
deployments (the others are neither listed nor reachable by URL), says what the token's
scope is, and an unscoped admin's Tokens page shows every token's expiry and last use.

Real ZooKeeper and Kafka (deployments write their directives), a real control plane
serving the built dashboard, Debian's Chromium through Playwright. No agents: nothing
here needs a consumer.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.integration.controlplane.kit import deployment_body
from tests.integration.web.test_dashboard_e2e import (
    browser,
    dashboard_settings,
    log_in,
    screenshot,
)
from tests.support.controlplane import RunningControlPlane, serve_in_thread
from tests.support.services import Services
from turnout.controlplane.security import ApiRole

__all__ = ["browser"]  # the fixture, used by name below


@pytest.fixture
def two_teams(services: Services, zk_root: str, tmp_path: Path) -> Iterator[RunningControlPlane]:
    settings = dashboard_settings(services.kafka, zk_root, tmp_path)
    with serve_in_thread(settings) as control_plane:
        with control_plane.client(ApiRole.ADMIN) as admin:
            cluster = {
                "name": "local",
                "kafka_bootstrap": services.kafka,
                "zookeeper_connect": zk_root,
                "zookeeper_root": "/turnout",
            }
            assert admin.post("/api/v1/clusters", json=cluster).status_code == 201
            for name, team in (("pay-api", "payments"), ("search-index", "search")):
                body = deployment_body(name, f"g-{name}", ["t"], team=team)
                created = admin.post("/api/v1/deployments", json=body)
                assert created.status_code == 201, created.text
        yield control_plane


def test_a_team_token_sees_only_its_deployments_and_admins_see_token_expiry_and_use(
    two_teams: RunningControlPlane, browser: Browser
) -> None:
    cp = two_teams
    with cp.client(ApiRole.ADMIN) as admin:
        created = admin.post(
            "/api/v1/tokens",
            json={"name": "pay-viewer", "role": "viewer", "scope": {"teams": ["payments"]}},
        )
        assert created.status_code == 201, created.text
    page = log_in(browser, cp.url, created.json()["token"], "20-scoped-login")
    expect(page.get_by_test_id("whoami")).to_contain_text("team payments")
    rows = page.get_by_test_id("deployment-row")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-deployment", "pay-api")
    expect(rows.first.get_by_test_id("team")).to_contain_text("payments")
    assert page.get_by_role("link", name="Tokens").count() == 0
    screenshot(page, "21-scoped-overview")
    page.goto(cp.url + "/deployments/search-index")
    expect(page.get_by_text("There is no deployment named “search-index”.")).to_be_visible()
    page.context.close()

    admin_page = log_in(browser, cp.url, cp.tokens[ApiRole.ADMIN], "22-admin-login")
    expect(admin_page.get_by_test_id("deployment-row")).to_have_count(2)
    admin_page.get_by_role("link", name="Tokens").click()
    viewer_row = admin_page.locator('[data-testid="token-row"][data-token="pay-viewer"]')
    expect(viewer_row).to_contain_text("team payments")
    expect(viewer_row.get_by_test_id("token-expires")).not_to_have_text("never")
    expect(viewer_row.get_by_test_id("token-last-used")).not_to_have_text("never")
    screenshot(admin_page, "23-tokens")
    admin_page.context.close()
