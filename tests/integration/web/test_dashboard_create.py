"""An admin creates a mirror deployment in the dashboard: the form previews each topic's
copy, the control plane stores it and writes its directive, the deployment's page and
the overview show it as a mirror. A refusal is shown as the server gives it. A mirror of
a topic pattern alone, and a deployment whose green colour consumes its copies (cluster
migration), are created the same way; the deployment's page then changes that colour.

Real ZooKeeper and Kafka (the directive is written), a real control plane serving the
built dashboard, Debian's Chromium through Playwright. No agents: nothing here consumes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.integration.controlplane.kit import read_directive, register_cluster
from tests.integration.web.test_dashboard_e2e import (
    PAGE_TIMEOUT_MS,
    browser,
    dashboard_settings,
    log_in,
    screenshot,
)
from tests.support.controlplane import RunningControlPlane, serve_in_thread
from tests.support.services import Services
from turnout.controlplane.security import ApiRole
from turnout.protocol import Colour
from turnout.zk import ZkGateway

__all__ = ["browser"]  # the fixture, used by name below

#: The target cluster's registered address: creating a mirror never connects to it.
TARGET_KAFKA = "127.0.0.1:19192"


@pytest.fixture
def two_clusters_registered(
    services: Services, zk_root: str, tmp_path: Path
) -> Iterator[RunningControlPlane]:
    settings = dashboard_settings(services.kafka, zk_root, tmp_path, zookeeper_root="/turnout")
    with serve_in_thread(settings) as control_plane:
        with control_plane.client(ApiRole.ADMIN) as admin:
            register_cluster(admin, "local", services.kafka, zk_root)
            register_cluster(admin, "dr", TARGET_KAFKA, zk_root, "/turnout-dr")
        yield control_plane


def test_an_admin_creates_a_mirror_in_the_dashboard_and_sees_it_as_one(
    two_clusters_registered: RunningControlPlane, browser: Browser, zk: ZkGateway
) -> None:
    cp = two_clusters_registered
    page = log_in(browser, cp.url, cp.tokens[ApiRole.ADMIN], "30-create-login")
    page.get_by_role("link", name="New deployment").click()
    form = page.get_by_role("form", name="New deployment")
    form.get_by_label("Name").fill("orders-mirror")
    form.get_by_label("Cluster", exact=True).select_option("local")
    form.get_by_label("Consumer group").fill("orders-mirror")
    form.get_by_label("Topics (comma-separated)").fill("orders, payments")
    form.get_by_label("Mirror to another cluster").check()
    form.get_by_label("Source alias").fill("eu")
    form.get_by_label("Source coordinates as headers").check()
    expect(page.get_by_test_id("mirror-preview")).to_contain_text(
        "orders → eu.orders, payments → eu.payments on dr"
    )
    screenshot(page, "31-create-mirror")

    # A prefix Kafka would refuse: the server's answer, naming the field, and the form kept.
    form.get_by_label("Prefix").fill("bad prefix/")
    form.get_by_role("button", name="Create deployment").click()
    expect(page.get_by_test_id("create-error")).to_contain_text("mirror.naming")
    expect(form.get_by_label("Name")).to_have_value("orders-mirror")

    form.get_by_label("Prefix").fill("")
    form.get_by_role("button", name="Create deployment").click()
    facts = page.get_by_test_id("mirror-facts")
    expect(facts).to_contain_text("to dr (prefix naming, source coordinates as headers)")
    expect(facts).to_contain_text("orders → eu.orders, payments → eu.payments")
    screenshot(page, "32-mirror-deployment")
    spec = read_directive(zk, "orders-mirror").mirror
    assert spec is not None and spec.target_kafka == TARGET_KAFKA and spec.coordinate_headers

    page.get_by_role("link", name="Deployments").first.click()
    row = page.locator('[data-testid="deployment-row"][data-deployment="orders-mirror"]')
    # The overview lists after it has read every deployment's live state.
    badge = row.get_by_test_id("mirror-badge")
    expect(badge).to_contain_text("mirror → dr", timeout=PAGE_TIMEOUT_MS)
    page.context.close()


def test_an_operator_is_offered_no_creation(
    two_clusters_registered: RunningControlPlane, browser: Browser
) -> None:
    cp = two_clusters_registered
    page = log_in(browser, cp.url, cp.tokens[ApiRole.OPERATOR], "33-operator-login")
    expect(page.get_by_role("button", name="Refresh")).to_be_visible()
    assert page.get_by_role("link", name="New deployment").count() == 0
    page.goto(cp.url + "/deployments/new")
    expect(page.get_by_text("Creating a deployment needs the admin role.")).to_be_visible()
    page.context.close()


def test_an_admin_creates_a_pattern_mirror_and_a_deployment_migrating_across_it(
    two_clusters_registered: RunningControlPlane, browser: Browser, zk: ZkGateway
) -> None:
    cp = two_clusters_registered
    page = log_in(browser, cp.url, cp.tokens[ApiRole.ADMIN], "34-migrate-login")
    page.get_by_role("link", name="New deployment").click()
    form = page.get_by_role("form", name="New deployment")
    form.get_by_label("Name").fill("audit-mirror")
    form.get_by_label("Cluster", exact=True).select_option("local")
    form.get_by_label("Consumer group").fill("audit-mirror")
    form.get_by_label("Mirror to another cluster").check()
    form.get_by_label("More source topics (regular expression)").fill(r"audit\..*")
    expect(page.get_by_test_id("mirror-preview")).to_contain_text(
        r"each topic matching audit\..* → local.<topic> on dr"
    )
    form.get_by_role("button", name="Create deployment").click()  # no topic listed
    expect(page.get_by_test_id("mirror-facts")).to_contain_text(
        r"every source topic matching audit\..*"
    )
    live = read_directive(zk, "audit-mirror").live
    assert (live.topics, live.topic_pattern) == ((), r"audit\..*")

    page.get_by_role("link", name="Deployments").first.click()
    page.get_by_role("link", name="New deployment").click()
    form = page.get_by_role("form", name="New deployment")
    form.get_by_label("Name").fill("audit-reader")
    form.get_by_label("Cluster", exact=True).select_option("local")
    form.get_by_label("Consumer group").fill("audit-reader")
    form.get_by_label("Topics (comma-separated)").fill("audit.eu")
    form.get_by_label("Green consumes the copies of").select_option("audit-mirror")
    expect(page.get_by_test_id("migration-preview")).to_contain_text(
        "Green runs on dr and consumes the copies made by audit-mirror"
    )
    screenshot(page, "35-create-migrating")
    form.get_by_role("button", name="Create deployment").click()
    expect(page.get_by_test_id("colour-facts")).to_contain_text(
        "green 2 (standby) on dr via mirror audit-mirror"
    )
    screenshot(page, "36-migrating-deployment")
    sides = read_directive(zk, "audit-reader").crossings
    assert {c.value: (s.mirror, s.side.value, s.cluster) for c, s in sides.items()} == {
        "blue": ("audit-mirror", "source", "local"),
        "green": ("audit-mirror", "copies", "dr"),
    }

    # The deployment's page changes the standby colour: back to the topics themselves
    # with a new version, then across the mirror again.
    standby = page.get_by_test_id("standby-colour")
    standby.get_by_label("green consumes the copies of").select_option("")
    standby.get_by_label("green version").fill("3")
    standby.get_by_role("button", name="Change green…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_test_id("standby-change")).to_contain_text(
        "runs on local, consuming the topics themselves (now: dr via mirror audit-mirror)"
    )
    dialog.get_by_role("button", name="Change green").click()
    expect(page.get_by_test_id("colour-facts")).to_have_text("blue 1 (live), green 3 (standby)")
    assert read_directive(zk, "audit-reader").crossings == {}

    standby.get_by_label("green consumes the copies of").select_option("audit-mirror")
    standby.get_by_role("button", name="Change green…").click()
    page.get_by_role("dialog").get_by_role("button", name="Change green").click()
    expect(page.get_by_test_id("colour-facts")).to_contain_text(
        "green 3 (standby) on dr via mirror audit-mirror"
    )
    screenshot(page, "37-standby-colour-changed")
    assert read_directive(zk, "audit-reader").crossings[Colour.GREEN].cluster == "dr"
    page.context.close()
