"""schemathesis over the OpenAPI document: whatever it sends, the API never answers 5xx.

One control plane for the module (real ZooKeeper chroot, real Kafka, SQLite), seeded
with cluster ``local`` and deployment ``billing`` (the names the OpenAPI examples use),
so generated requests reach the handlers rather than stopping at 404.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from tests.integration.controlplane.kit import (
    FakeAgents,
    cp_settings,
    create_deployment,
    deployment_body,
    start_with_cluster,
)
from tests.support.controlplane import RunningControlPlane
from tests.support.services import Services, unique_name
from turnout.controlplane.security import ApiRole
from turnout.protocol import Colour
from turnout.zk import ZkGateway


@contextmanager
def started_gateway(connect: str) -> Iterator[ZkGateway]:
    gateway = ZkGateway(connect)
    gateway.start()
    try:
        yield gateway
    finally:
        gateway.stop()


#: Examples per operation: enough to hit every validator and branch we know of, small
#: enough to keep the whole run around a minute on two busy cores.
EXAMPLES_PER_OPERATION = 25


@pytest.fixture(scope="module")
def fuzzed_controlplane(
    services: Services, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningControlPlane]:
    chroot = "/" + unique_name("t-schemathesis")
    admin = ZkGateway(services.zookeeper)
    admin.start()
    admin.ensure_path(chroot)
    db = Path(tmp_path_factory.mktemp("schemathesis")) / "controlplane.db"
    try:
        with ExitStack() as stack:
            cp = start_with_cluster(
                cp_settings(f"sqlite:///{db}", services.zookeeper + chroot, services.kafka), stack
            )
            group = unique_name("g")
            with cp.client() as client:
                create_deployment(client, deployment_body("billing", group, ["payments"]))
            # A ready instance of each colour, so a switch request that asks to wait for
            # readiness (wait_ready_ms, up to 2 minutes) is answered at once.
            agents_session = stack.enter_context(started_gateway(services.zookeeper + chroot))
            agents = FakeAgents(agents_session, "billing", group)
            for colour in Colour:
                agents.register(f"{colour.value}-0", colour)
                agents.report(f"{colour.value}-0", colour, ready=True)
            yield cp
    finally:
        admin.delete(chroot, recursive=True)
        admin.stop()


# schemathesis' own strategies use ``random`` (a warning hypothesis raises once per site,
# which pytest's warnings-as-errors would turn into flaky failures unrelated to the API).
@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_request_gets_a_server_error(
    fuzzed_controlplane: RunningControlPlane, mode: GenerationMode
) -> None:
    """Every operation, valid (positive) and invalid (negative) inputs: never a 5xx.

    Runs schemathesis programmatically (its pytest plugin does not support pytest 9 yet):
    one hypothesis run per operation over the strategy schemathesis derives from it.
    """
    cp = fuzzed_controlplane
    schema = schemathesis.openapi.from_url(f"{cp.url}/openapi.json")
    headers = {"Authorization": f"Bearer {cp.tokens[ApiRole.ADMIN]}"}
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path.endswith("/events"):
            continue  # the event stream never ends by design; it has its own test
        operations += 1

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case: schemathesis.Case) -> None:
            case.call_and_validate(
                base_url=cp.url, headers=headers, checks=[not_a_server_error], timeout=30
            )

        try:
            run()
        except Unsatisfiable:
            # Negative mode only: an operation without inputs cannot be sent invalid ones.
            assert mode is GenerationMode.NEGATIVE, operation.label
        except Exception as exc:  # collect every failing operation, then report them all
            causes = getattr(exc, "exceptions", None) or [exc]
            failures.append(
                f"{operation.label}: "
                + "; ".join(f"{type(c).__name__}: {str(c)[:1500]}" for c in causes)
            )
    assert operations >= 25
    assert not failures, "\n\n".join(failures)
