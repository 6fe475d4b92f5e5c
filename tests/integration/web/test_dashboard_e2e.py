"""The dashboard end to end, in a real headless Chromium.

Everything is real: ZooKeeper and Kafka (the ``services`` fixture), the control plane
(``create_app`` served by uvicorn, with the built dashboard from ``web/dist``), and four
``turnout agent run`` processes (two blue, two green) consuming a 4-partition topic that
a producer keeps feeding. The browser is Debian's ``/usr/bin/chromium`` driven by
Playwright (never a downloaded browser).

One scenario, in the order an operator lives it:

1. log in as an operator and see the deployment on the overview;
2. open it and see every partition owned by a blue instance;
3. switch to green through the confirmation, watch the map turn green and the switch
   timeline reach "completed" (live, through server-sent events opened with single-use
   stream tickets, never the token in a URL; the server ends each stream after a few
   seconds here, and the page opens the next one by itself with a new ticket);
4. pin a partition to the other green instance, preview the plan, apply, and see the
   cell move to that instance;
5. log in as a viewer in a fresh browser context and find no mutating control;
6. log in as an admin, change the processing settings through the preview of what
   changes, see the new settings version saved, and see every instance apply it.

The overview must fit a 1280 x 800 window whole (its last column used to be cut off).

A screenshot of each step is saved under ``artifacts/screenshots/`` (gitignored).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from confluent_kafka import Producer
from playwright.sync_api import Browser, Locator, Page, Request, expect, sync_playwright

from tests.support.controlplane import RunningControlPlane, serve_in_thread
from tests.support.services import Services
from tests.support.waiting import wait_until
from turnout.controlplane.security import ApiRole
from turnout.controlplane.settings import ControlPlaneSettings

REPO_ROOT = Path(__file__).resolve().parents[3]
WEB_DIST = REPO_ROOT / "web" / "dist"


def dashboard_settings(
    kafka: str, zookeeper: str, tmp_path: Path, **overrides: object
) -> ControlPlaneSettings:
    """A control plane serving the built dashboard on SQLite (the test fails, saying how to
    build it, when it is not built)."""
    if not (WEB_DIST / "index.html").is_file():
        pytest.fail(
            f"the dashboard is not built ({WEB_DIST}/index.html is missing): "
            "run `cd web && npm ci && npm run build` first",
            pytrace=False,
        )
    values: dict[str, object] = {
        "database_url": f"sqlite:///{tmp_path / 'controlplane.db'}",
        "zookeeper_connect": zookeeper,
        "zookeeper_root": "/turnout-controlplane",
        "kafka_bootstrap": kafka,
        "web_dist": WEB_DIST,
        **overrides,
    }
    return ControlPlaneSettings(**values)  # type: ignore[arg-type]


SCREENSHOTS = REPO_ROOT / "artifacts" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
#: Flags for a headless Chromium in a container with no network beyond loopback.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

DEPLOYMENT = "billing"
PARTITIONS = 4
#: Agents import librdkafka and kazoo, register and claim: seconds each, more on a
#: loaded 2-core box shared with other test runs.
AGENTS_READY_TIMEOUT_S = 90.0
#: The switch's own bound, sent with the request: drain (records take ~2 ms) + claims.
SWITCH_TIMEOUT_S = 60
#: The page must show the outcome shortly after the switch's own bound.
SWITCH_SEEN_TIMEOUT_MS = (SWITCH_TIMEOUT_S + 15) * 1000
#: A pin is one more directive: release by the old owner, claim by the new one.
PIN_MOVE_TIMEOUT_MS = 45_000
#: Loading a page and the first server-sent event over loopback.
PAGE_TIMEOUT_MS = 20_000
#: A clean agent stop drains and commits; after this it is killed.
AGENT_STOP_TIMEOUT_S = 25.0
#: The window of every page in this test, and the laptop-sized one the overview must fit.
VIEWPORT = {"width": 1280, "height": 900}
OVERVIEW_VIEWPORT = {"width": 1280, "height": 800}
#: Agents apply a settings change at their next safe point, within seconds.
SETTINGS_APPLIED_TIMEOUT_MS = 30_000
#: Enough records to keep every partition busy at each handoff, little enough for 2 cores.
PRODUCE_RATE_PER_S = 100
#: The server ends each event stream this soon, so the scenario sees the page open the
#: next one with a fresh ticket several times while the map keeps updating.
EVENTS_MAX_AGE_S = 5.0


@dataclass
class Stack:
    control_plane: RunningControlPlane
    topic: str


class SteadyProducer:
    """Writes small records to the topic at a fixed rate until stopped."""

    def __init__(self, kafka: str, topic: str) -> None:
        self._producer = Producer({"bootstrap.servers": kafka, "linger.ms": 5})
        self._topic = topic
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="e2e-producer", daemon=True)

    def _run(self) -> None:
        n = 0
        while not self._stop.wait(1.0 / PRODUCE_RATE_PER_S):
            self._producer.produce(self._topic, value=f"r{n}".encode(), partition=n % PARTITIONS)
            self._producer.poll(0)
            n += 1

    def __enter__(self) -> SteadyProducer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._producer.flush(5)


#: Runs ``python <args>`` after asking Linux to send SIGTERM when this test process dies,
#: so agents never outlive a test run that crashed (prctl PR_SET_PDEATHSIG survives exec).
_EXEC_WITH_PARENT_DEATH_SIGNAL = (
    "import ctypes, os, signal, sys; "
    "ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM); "
    "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])"
)


def start_agent(
    zookeeper: str, kafka: str, colour: str, index: int, version: str, log_dir: Path
) -> subprocess.Popen[bytes]:
    instance = f"{DEPLOYMENT}-{colour}-{index}"
    log = (log_dir / f"{instance}.log").open("ab")
    try:
        return subprocess.Popen(
            [
                sys.executable,
                "-c",
                _EXEC_WITH_PARENT_DEATH_SIGNAL,
                "-m",
                "turnout",
                "agent",
                "run",
                "tests.integration.web.handlers:handle",
                "--deployment",
                DEPLOYMENT,
                "--colour",
                colour,
                "--instance",
                instance,
                "--version",
                version,
                "--zookeeper",
                zookeeper,
                "--zk-root",
                "/turnout",
                "--kafka",
                kafka,
            ],
            cwd=REPO_ROOT,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    finally:
        log.close()


def stop_agents(agents: list[subprocess.Popen[bytes]]) -> None:
    for agent in agents:
        if agent.poll() is None:
            agent.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + AGENT_STOP_TIMEOUT_S
    for agent in agents:
        try:
            agent.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            agent.kill()
            agent.wait(timeout=5)


@pytest.fixture
def stack(
    services: Services,
    zk_root: str,
    topic_factory: Callable[..., str],
    unique: Callable[[str], str],
    tmp_path: Path,
) -> Iterator[Stack]:
    topic = topic_factory(PARTITIONS)
    group = unique("g")
    settings = dashboard_settings(
        services.kafka,
        zk_root,
        tmp_path,
        lag_sample_interval_s=1.0,
        lag_window_s=30.0,
        events_max_age_s=EVENTS_MAX_AGE_S,
    )
    agents: list[subprocess.Popen[bytes]] = []
    with serve_in_thread(settings) as control_plane, SteadyProducer(services.kafka, topic):
        with control_plane.client(ApiRole.ADMIN) as admin:
            created = admin.post(
                "/api/v1/clusters",
                json={
                    "name": "local",
                    "kafka_bootstrap": services.kafka,
                    "zookeeper_connect": zk_root,
                    "zookeeper_root": "/turnout",
                },
            )
            assert created.status_code == 201, created.text
            created = admin.post(
                "/api/v1/deployments",
                json={
                    "name": DEPLOYMENT,
                    "cluster": "local",
                    "live": {"group": group, "topics": [topic]},
                    "colours": {"blue": {"version": "1.4.0"}, "green": {"version": "1.5.0"}},
                    "drain_timeout_ms": 5000,
                },
            )
            assert created.status_code == 201, created.text
        try:
            for colour, version in (("blue", "1.4.0"), ("green", "1.5.0")):
                for index in range(2):
                    agents.append(
                        start_agent(zk_root, services.kafka, colour, index, version, tmp_path)
                    )
            with control_plane.client(ApiRole.VIEWER) as viewer:

                def blue_owns_everything() -> bool:
                    for agent in agents:
                        if agent.poll() is not None:
                            raise AssertionError(
                                f"an agent exited with {agent.returncode}; logs in {tmp_path}"
                            )
                    state = viewer.get(f"/api/v1/deployments/{DEPLOYMENT}/state").json()
                    owners = [p["owner_colour"] for p in state.get("partitions", [])]
                    return (
                        len(state.get("instances", [])) == 4
                        and len(owners) == PARTITIONS
                        and all(o == "blue" for o in owners)
                    )

                wait_until(
                    blue_owns_everything,
                    AGENTS_READY_TIMEOUT_S,
                    "4 instances, blue owning every partition",
                    poll_s=0.25,
                )
            yield Stack(control_plane=control_plane, topic=topic)
        finally:
            stop_agents(agents)


@pytest.fixture
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


#: Each page's requests as they happened (started, answered, finished or failed, with
#: seconds since the page opened), for a failure message to name a slow request.
NETWORK_LOGS: weakref.WeakKeyDictionary[Page, list[str]] = weakref.WeakKeyDictionary()


def record_network(page: Page) -> None:
    opened = time.monotonic()
    log: list[str] = []
    NETWORK_LOGS[page] = log

    def note(what: str, request: Request) -> None:
        log.append(f"{time.monotonic() - opened:7.2f}s {what} {request.method} {request.url}")

    page.on("request", lambda r: note("sent", r))
    page.on("requestfinished", lambda r: note("finished", r))
    page.on("requestfailed", lambda r: note(f"failed ({r.failure})", r))


def log_in(browser: Browser, url: str, token: str, shot: str) -> Page:
    page = browser.new_context(viewport=VIEWPORT).new_page()
    record_network(page)
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    page.goto(url + "/")
    page.get_by_label("API token").fill(token)
    screenshot(page, shot)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_test_id("whoami")).to_be_visible()
    return page


def assert_overview_fits(page: Page, viewport: dict[str, int]) -> None:
    """In a ``viewport``-sized window the overview table is whole: its right edge inside
    the window, and neither the page nor the table's own container scrolls sideways."""
    page.set_viewport_size(viewport)
    table = page.get_by_test_id("deployments-table")
    expect(table).to_be_visible()
    box = table.bounding_box()
    assert box is not None, "the overview table is laid out"
    right = box["x"] + box["width"]
    assert right <= viewport["width"], f"the table ends at {right} px in a {viewport} window"
    widths = page.evaluate(
        """() => {
            const table = document.querySelector("[data-testid=deployments-table]");
            const scroller = table.parentElement;
            return {page: document.documentElement.scrollWidth,
                    table: scroller.scrollWidth, shown: scroller.clientWidth};
        }"""
    )
    assert widths["page"] <= viewport["width"], f"the page scrolls sideways: {widths}"
    assert widths["table"] <= widths["shown"], f"the table scrolls sideways: {widths}"


def assert_fits_width(page: Page, width: int) -> None:
    """At ``width`` pixels the page needs no horizontal scrolling."""
    page.set_viewport_size({"width": width, "height": 900})
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"the page is {scroll_width} px wide in a {width} px window"


def ownership_cells(page: Page) -> Locator:
    """Cells of the page's ownership map (not the pin editor's selection map)."""
    return page.get_by_test_id("ownership-section").get_by_test_id("partition-cell")


def expect_map_complete(page: Page, timeout_ms: int) -> Locator:
    """Wait for the ownership map to show every partition; on failure, say what the page
    showed and which of its requests were slow, failed or never answered."""
    cells = ownership_cells(page)
    try:
        expect(cells).to_have_count(PARTITIONS, timeout=timeout_ms)
    except AssertionError as missing:
        screenshot(page, "failed-map")
        shown = page.get_by_test_id("ownership-section").inner_text()
        status = page.get_by_test_id("live-status").get_attribute("data-status")
        requests = "\n".join(NETWORK_LOGS.get(page, ["(not recorded)"])[-30:])
        raise AssertionError(
            f"the map shows {shown!r}, the live stream is {status}; requests:\n{requests}"
        ) from missing
    return cells


def expect_all_owned_by(page: Page, colour: str, timeout_ms: int) -> None:
    cells = expect_map_complete(page, timeout_ms)
    for i in range(PARTITIONS):
        cell = cells.nth(i)
        expect(cell).to_have_attribute("data-owner-colour", colour, timeout=timeout_ms)
        # Colour is never the only signal: the cell names its owner and colour in words.
        expect(cell).to_contain_text(re.compile(rf"{DEPLOYMENT}-{colour}-\d"))
        expect(cell).to_contain_text(colour)


#: Accessible names of every control that changes something.
MUTATING_CONTROLS = re.compile(
    r"switch to|roll back|pause|resume|pin selected|unpin|preview plan|apply pins|"
    r"dry run|execute reset|discard draft",
    re.IGNORECASE,
)


def test_operator_switches_and_pins_live_and_viewer_sees_no_mutating_control(
    stack: Stack, browser: Browser
) -> None:
    cp = stack.control_plane

    # 1. Log in as an operator; the overview lists the deployment, blue live.
    page = log_in(browser, cp.url, cp.tokens[ApiRole.OPERATOR], "01-login")
    expect(page.get_by_test_id("whoami")).to_contain_text("operator")
    row = page.get_by_test_id("deployment-row").filter(has_text=DEPLOYMENT)
    expect(row).to_contain_text("1.4.0 · 2 instances")
    expect(row).to_contain_text("1.5.0 · 2 instances")
    expect(row.get_by_test_id("lag-status")).to_be_visible()
    assert_overview_fits(page, OVERVIEW_VIEWPORT)
    screenshot(page, "02-overview")
    page.set_viewport_size(VIEWPORT)

    # 2. The deployment page: every partition owned by a blue instance, updated live.
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    row.get_by_role("link", name=DEPLOYMENT).click()
    expect_all_owned_by(page, "blue", PAGE_TIMEOUT_MS)
    expect(page.get_by_test_id("live-status")).to_have_attribute("data-status", "open")
    expect(page.get_by_test_id("instance-row")).to_have_count(4)
    screenshot(page, "03-map-blue")

    # 3. Switch to green through the confirmation; the map turns green and the timeline completes.
    page.get_by_role("button", name="Switch to green…").click()
    dialog = page.get_by_role("dialog", name=f"Switch {DEPLOYMENT} to green?")
    expect(dialog.get_by_test_id("switch-explanation")).to_contain_text(
        f"release {PARTITIONS} partitions"
    )
    expect(dialog).to_contain_text("The 2 green instances claim them")
    screenshot(page, "04-switch-confirmation")
    dialog.get_by_role("button", name="Switch to green", exact=True).click()
    expect(dialog).to_be_hidden()
    timeline = page.get_by_test_id("switch-timeline")
    expect(timeline).to_be_visible()
    expect(timeline).to_have_attribute("data-state", "completed", timeout=SWITCH_SEEN_TIMEOUT_MS)
    expect(page.get_by_test_id("switch-outcome")).to_contain_text(
        "Switch from blue to green completed"
    )
    for name in ("requested", "directive_written", "released", "claimed"):
        expect(timeline.locator(f"[data-phase='{name}']")).to_have_attribute("data-status", "done")
    expect(timeline.locator("[data-phase='released'] .phase-duration")).to_have_text(
        re.compile(r"\d")
    )
    expect_all_owned_by(page, "green", SWITCH_SEEN_TIMEOUT_MS)
    screenshot(page, "05-switched-green")
    # The live map came through event streams opened with single-use tickets: no URL the
    # page requested carries the token, and no two streams shared a ticket.
    # The server ends each stream after EVENTS_MAX_AGE_S; the page reopens it by itself.
    deadline = time.monotonic() + 3 * EVENTS_MAX_AGE_S
    while len(event_streams(requested)) < 2 and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    streams = event_streams(requested)
    tickets = [url.partition("?ticket=")[2] for url in streams]
    assert len(streams) >= 2, f"the stream was not reopened when the server ended it: {streams}"
    expect(page.get_by_test_id("live-status")).to_have_attribute("data-status", "open")
    assert all(ticket.startswith("tst_") for ticket in tickets), streams
    assert len(set(tickets)) == len(tickets), f"a ticket was used twice: {streams}"
    leaking = [u for u in requested if cp.tokens[ApiRole.OPERATOR] in u or "access_token" in u]
    assert leaking == [], f"the token went into a URL: {leaking}"

    # 4. Pin a partition to the other green instance: preview the plan, apply, see it move.
    first = ownership_cells(page).first
    partition = first.get_attribute("data-partition")
    owner = first.get_attribute("data-owner-instance")
    assert partition and owner, "the first cell names its partition and owner"
    target = f"{DEPLOYMENT}-green-1" if owner.endswith("-0") else f"{DEPLOYMENT}-green-0"
    editor = page.get_by_test_id("pin-editor")
    editor.locator(f"[data-partition='{partition}']").click()
    editor.get_by_label("Pin to instance").select_option(target)
    editor.get_by_role("button", name="Pin selected", exact=True).click()
    expect(editor.get_by_test_id("draft-pins")).to_contain_text(f"{partition} → {target}")
    editor.get_by_role("button", name="Preview plan").click()
    move = editor.get_by_test_id("plan-move").filter(has_text=partition)
    expect(move).to_contain_text(owner)
    expect(move).to_contain_text(target)
    screenshot(page, "06-pin-preview")
    editor.get_by_role("button", name="Apply pins…").click()
    page.get_by_role("dialog").get_by_role("button", name="Apply pins", exact=True).click()
    moved = page.get_by_test_id("ownership-section").locator(f"[data-partition='{partition}']")
    expect(moved).to_have_attribute("data-owner-instance", target, timeout=PIN_MOVE_TIMEOUT_MS)
    expect(moved).to_contain_text(target)
    expect(moved).to_contain_text("PIN")
    expect(page.get_by_test_id("pins-in-force")).to_contain_text(f"{partition} → {target}")
    screenshot(page, "07-pinned")
    # Laptop and wide-screen widths: nothing overflows sideways.
    assert_fits_width(page, 1920)
    screenshot(page, "07b-pinned-1920")
    assert_fits_width(page, 1280)

    # Switch history, filtered to completed switches, lists the switch.
    page.get_by_role("link", name="Switch history").click()
    page.get_by_label("State").select_option("completed")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"state=completed"))
    history = page.get_by_test_id("switch-row")
    expect(history).to_have_count(1)
    expect(history).to_contain_text("blue → green")
    screenshot(page, "08-switch-history")

    # The audit log, filtered by action, records the switch under the operator's token name.
    page.get_by_role("link", name="Audit log").click()
    page.get_by_label("Action").fill("switch")
    page.get_by_role("button", name="Filter").click()
    audit = page.get_by_test_id("audit-row")
    expect(audit).to_have_count(1)
    expect(audit).to_contain_text("operator")
    screenshot(page, "09-audit")
    page.context.close()

    # 5. A viewer, in a fresh context (no shared session storage), sees no mutating control.
    viewer = log_in(browser, cp.url, cp.tokens[ApiRole.VIEWER], "10-viewer-login")
    expect(viewer.get_by_test_id("whoami")).to_contain_text("viewer")
    viewer.get_by_test_id("deployment-row").filter(has_text=DEPLOYMENT).get_by_role(
        "link", name=DEPLOYMENT
    ).click()
    expect_all_owned_by_any(viewer)
    expect(viewer.get_by_test_id("read-only-note").first).to_contain_text("operator role")
    names = [
        (button.get_attribute("aria-label") or button.inner_text()).strip()
        for button in viewer.get_by_role("button").all()
    ]
    assert names, "the viewer's page has buttons (log out, series choice, ...)"
    offending = [n for n in names if MUTATING_CONTROLS.search(n)]
    assert offending == [], f"a viewer was shown mutating controls: {offending}"
    assert viewer.get_by_test_id("pin-editor").count() == 0
    assert viewer.get_by_test_id("offset-reset").count() == 0
    screenshot(viewer, "11-viewer-read-only")

    # The API enforces the same rule the page shows.
    with httpx.Client(base_url=cp.url, timeout=10.0) as raw:
        refused = raw.post(
            f"/api/v1/deployments/{DEPLOYMENT}/switch",
            json={"to": "blue", "timeout_s": SWITCH_TIMEOUT_S},
            headers={"Authorization": f"Bearer {cp.tokens[ApiRole.VIEWER]}"},
        )
    assert refused.status_code == 403, refused.text
    viewer.context.close()

    # 6. An admin changes the processing settings: every change is previewed, old → new,
    # before it is saved as the next settings version, which the directive then carries.
    admin = log_in(browser, cp.url, cp.tokens[ApiRole.ADMIN], "12-admin-login")
    admin.get_by_test_id("deployment-row").filter(has_text=DEPLOYMENT).get_by_role(
        "link", name=DEPLOYMENT
    ).click()
    panel = admin.get_by_test_id("processing-panel")
    expect(panel.get_by_test_id("processing-version")).to_have_text("version 1")
    panel.get_by_role("button", name="Edit settings…").click()
    panel.get_by_label("Ordering").select_option("key")
    panel.get_by_label("Workers").fill("16")
    panel.get_by_label("Retries", exact=True).fill("5")
    panel.get_by_role("button", name="Review 3 changes…").click()
    changes = panel.get_by_test_id("processing-change")
    expect(changes).to_have_count(3)
    expect(changes.filter(has_text="workers")).to_contain_text("16")
    expect(panel.get_by_test_id("processing-preview")).to_contain_text(
        "Saving makes settings version 2"
    )
    screenshot(admin, "13-settings-preview")
    panel.get_by_role("button", name="Save as version 2").click()
    expect(panel.get_by_test_id("processing-version")).to_have_text(
        "version 2", timeout=SETTINGS_APPLIED_TIMEOUT_MS
    )
    expect(panel.get_by_test_id("processing-settings")).to_contain_text("ordering key")
    with cp.client(ApiRole.VIEWER) as api:
        settings = api.get(f"/api/v1/deployments/{DEPLOYMENT}").json()["processing"]
    assert (settings["version"], settings["ordering"], settings["workers"]) == (2, "key", 16)
    assert settings["retries"]["max_retries"] == 5
    # Every instance of both colours applies the new version live and says so in its row.
    instance_settings = admin.get_by_test_id("instance-settings")
    expect(instance_settings).to_have_count(4)
    for i in range(4):
        expect(instance_settings.nth(i)).to_have_text("v2", timeout=SETTINGS_APPLIED_TIMEOUT_MS)
        expect(instance_settings.nth(i)).to_have_attribute("data-current", "true")
    screenshot(admin, "14-settings-saved")


def event_streams(requested: list[str]) -> list[str]:
    """The event-stream URLs among the requests a page made."""
    return [url for url in requested if url.split("?")[0].endswith("/events")]


def expect_all_owned_by_any(page: Page) -> None:
    cells = expect_map_complete(page, PAGE_TIMEOUT_MS)
    for i in range(PARTITIONS):
        expect(cells.nth(i)).not_to_have_attribute("data-owner-colour", "unowned")
