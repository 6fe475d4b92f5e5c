"""A token's lifecycle against a real control plane: expiry, rotation with a grace
period, revocation at once, last use, failed authentications in the audit log (with
their source, never the secret) and rate limited per source address."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack

import httpx
import pytest

from tests.integration.controlplane.kit import (
    cp_settings,
    create_deployment,
    deployment_body,
    start_with_cluster,
)
from tests.support.controlplane import RunningControlPlane
from tests.support.services import Services
from turnout.controlplane.db import make_engine, make_sessionmaker
from turnout.controlplane.security import ApiRole
from turnout.controlplane.services.tokens import create_token

#: Short enough that a test waits a couple of seconds for a window or a grace period.
SHORT_S = 2


@pytest.fixture
def throttled_controlplane(
    sqlite_url: str, zk_root: str, services: Services
) -> Iterator[RunningControlPlane]:
    settings = cp_settings(
        sqlite_url, zk_root, services.kafka, auth_failure_limit=3, auth_failure_window_s=SHORT_S
    )
    with ExitStack() as stack:
        yield start_with_cluster(settings, stack)


def _bearer(url: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def _failures(admin: httpx.Client) -> list[dict[str, object]]:
    response = admin.get("/api/v1/audit", params={"action": "auth.failure", "limit": 500})
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


def test_an_expired_token_is_refused_and_the_refusal_is_audited_without_the_secret(
    sqlite_controlplane: RunningControlPlane,
) -> None:
    engine = make_engine(sqlite_controlplane.settings.database_url)
    try:
        with make_sessionmaker(engine)() as session:
            short = create_token(session, name="short", role=ApiRole.VIEWER, actor="t", ttl_s=1)
    finally:
        engine.dispose()
    with _bearer(sqlite_controlplane.url, short.token) as client:
        assert client.get("/api/v1/whoami").status_code == 200
        time.sleep(1.2)
        refused = client.get("/api/v1/whoami")
    assert refused.status_code == 401
    assert refused.json()["detail"] == "token expired"
    with sqlite_controlplane.client() as admin:
        [failure] = _failures(admin)
        assert failure["actor"] == "short"
        assert failure["detail"] == {
            "source": "127.0.0.1",
            "method": "GET",
            "path": "/api/v1/whoami",
            "reason": "expired",
            "token": "short",
        }
        assert short.token not in admin.get("/api/v1/audit", params={"limit": 500}).text


def test_a_revoked_token_is_refused_on_its_next_request(
    sqlite_controlplane: RunningControlPlane,
) -> None:
    with sqlite_controlplane.client() as admin:
        created = admin.post("/api/v1/tokens", json={"name": "gone", "role": "operator"})
        assert created.status_code == 201, created.text
        token = created.json()["token"]
        with _bearer(sqlite_controlplane.url, token) as client:
            assert client.get("/api/v1/deployments").status_code == 200
            assert admin.delete("/api/v1/tokens/gone").status_code == 204
            refused = client.get("/api/v1/deployments")
        assert refused.status_code == 401
        assert refused.json()["detail"] == "invalid or revoked token"
        [failure] = _failures(admin)
        assert failure["actor"] == "anonymous"  # its row is gone: the secret matches nothing
        assert failure["detail"]["reason"] == "unknown"  # type: ignore[index]


def test_a_rotated_token_keeps_its_old_secret_for_the_grace_period_only(
    sqlite_controlplane: RunningControlPlane,
) -> None:
    url = sqlite_controlplane.url
    with sqlite_controlplane.client() as admin:
        old = admin.post("/api/v1/tokens", json={"name": "ci", "role": "viewer"}).json()["token"]
        rotated = admin.post("/api/v1/tokens/ci/rotate", json={"grace_s": SHORT_S})
        assert rotated.status_code == 200, rotated.text
        new = rotated.json()["token"]
        assert new != old and rotated.json()["previous_valid_until"] is not None
        with _bearer(url, old) as old_client, _bearer(url, new) as new_client:
            assert old_client.get("/api/v1/whoami").json()["name"] == "ci"
            assert new_client.get("/api/v1/whoami").json()["name"] == "ci"
            time.sleep(SHORT_S + 0.2)
            refused = old_client.get("/api/v1/whoami")
            assert refused.status_code == 401
            assert refused.json()["detail"] == "token was rotated and its grace period is over"
            assert new_client.get("/api/v1/whoami").status_code == 200
        [failure] = _failures(admin)
        assert (failure["actor"], failure["detail"]["reason"]) == ("ci", "replaced")  # type: ignore[index]


def test_a_second_rotation_ends_the_first_replaced_secret_at_once(
    sqlite_controlplane: RunningControlPlane,
) -> None:
    url = sqlite_controlplane.url
    with sqlite_controlplane.client() as admin:
        first = admin.post("/api/v1/tokens", json={"name": "ci", "role": "viewer"}).json()["token"]
        admin.post("/api/v1/tokens/ci/rotate")
        admin.post("/api/v1/tokens/ci/rotate")
        with _bearer(url, first) as client:
            assert client.get("/api/v1/whoami").status_code == 401


def test_the_token_list_shows_expiry_and_last_use_never_secrets(
    sqlite_controlplane: RunningControlPlane,
) -> None:
    with sqlite_controlplane.client() as admin:
        created = admin.post(
            "/api/v1/tokens",
            json={"name": "ops", "role": "operator", "expires_in_s": 3600},
        ).json()
        listed = {t["name"]: t for t in admin.get("/api/v1/tokens").json()["data"]}
        assert listed["ops"]["last_used_at"] is None
        assert listed["ops"]["expires_at"] == created["expires_at"]
        with _bearer(sqlite_controlplane.url, created["token"]) as client:
            client.get("/api/v1/whoami")
            client.get("/api/v1/whoami")
        listing = admin.get("/api/v1/tokens")
        assert {t["name"]: t for t in listing.json()["data"]}["ops"]["last_used_at"] is not None
        assert created["token"] not in listing.text


def test_failed_authentications_are_throttled_per_source_and_recover_after_the_window(
    throttled_controlplane: RunningControlPlane,
) -> None:
    url = throttled_controlplane.url
    with httpx.Client(base_url=url, timeout=30) as anonymous:
        for _ in range(3):
            bad = anonymous.get("/api/v1/whoami", headers={"Authorization": "Bearer tnt_guess"})
            assert bad.status_code == 401
        throttled = anonymous.get("/api/v1/whoami", headers={"Authorization": "Bearer tnt_x"})
    assert throttled.status_code == 429
    assert 1 <= int(throttled.headers["retry-after"]) <= SHORT_S
    with throttled_controlplane.client(ApiRole.VIEWER) as viewer:
        assert viewer.get("/api/v1/whoami").status_code == 429  # even a valid token
        time.sleep(SHORT_S + 0.2)
        assert viewer.get("/api/v1/whoami").status_code == 200
    with throttled_controlplane.client() as admin:
        failures = _failures(admin)
    assert len(failures) == 3  # the 429s are not audited one by one
    assert "tnt_guess" not in str(failures)


def test_guessed_stream_tickets_and_tokens_in_the_url_are_audited_and_throttled(
    throttled_controlplane: RunningControlPlane,
) -> None:
    name = "stream-guessed"
    with throttled_controlplane.client() as admin:
        body = deployment_body(name, "stream-guessed-group", ["stream-guessed-topic"])
        create_deployment(admin, body)
    token = throttled_controlplane.tokens[ApiRole.VIEWER]
    events = f"/api/v1/deployments/{name}/events"
    with httpx.Client(base_url=throttled_controlplane.url, timeout=30) as anonymous:
        for guess in ("tst_guess_one", "tst_guess_two"):
            refused = anonymous.get(events, params={"ticket": guess})
            assert refused.status_code == 401
            assert "stream ticket unknown" in refused.json()["detail"]
        in_url = anonymous.get(events, params={"access_token": token})
        assert in_url.status_code == 401
        assert "stream-tickets" in in_url.json()["detail"]
        throttled = anonymous.get(events, params={"ticket": "tst_guess_three"})
    assert throttled.status_code == 429
    time.sleep(SHORT_S + 0.2)
    with throttled_controlplane.client() as admin:
        failures = _failures(admin)
    reasons = sorted(str(f["detail"]["reason"]) for f in failures)  # type: ignore[index]
    assert reasons == ["ticket", "ticket", "token_in_url"]
    assert all(f["detail"]["path"] == events for f in failures)  # type: ignore[index]
    assert "tst_guess" not in str(failures) and token not in str(failures)
