"""`up`, `down`, `status` and `logs` of the local stack.

States of the stack, as `up` sees them:

    DOWN ──up──▶ STARTING ──both probes pass──▶ UP
      ▲              │ probe deadline, crash, port taken
      │              ▼
      └──────── FAILED (everything started is stopped again; the error names the cause)

`up` on an UP stack is a no-op that says so; `up` on a half-dead stack (a service died)
stops what is left and starts afresh. A state dir is either plain or secured (made by
`up --secure`, see ``turnout.devstack.security``) for its whole life: `up` in the other
mode fails and says so, since Kafka's SCRAM users exist only in storage formatted with
them; `down --purge` forgets the mode with the data.

With ``clusters=2`` (`up --clusters 2`) a second single-node Kafka cluster, ``kafka-b``,
starts after the first, on its own ports, in ``<state dir>/kafka-b`` with its own KRaft
cluster id; it needs no ZooKeeper (KRaft). Once started it is part of the stack: `status`,
`logs` and `down` cover it without the flag. A secured second cluster is not supported.

`down` stops Kafka first (its controlled shutdown needs nothing from ZooKeeper, but agents
watching ZooKeeper should see Kafka go first), then ZooKeeper, then sweeps for any
process still carrying the stack's marker.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from turnout.devstack import artifacts, process, security, services
from turnout.devstack.errors import StackError, read_log_tail
from turnout.devstack.security import ServiceSecurity, StackSecurity
from turnout.devstack.settings import SECOND_KAFKA, StackSettings, second_cluster_settings

#: ZooKeeper serves within 1-3 s of the JVM starting on an idle machine; on a loaded
#: 2-core CI box that can stretch to tens of seconds.
ZOOKEEPER_START_TIMEOUT_S = 60.0
#: Kafka (KRaft, one node) elects itself and serves metadata in 3-8 s idle; the same
#: allowance for a loaded machine, plus the readiness topic's creation.
KAFKA_START_TIMEOUT_S = 120.0
_PROBE_INTERVAL_S = 0.25

SERVICES = ("zookeeper", "kafka")


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    pid: int | None
    address: str
    running: bool
    healthy: bool
    log_file: Path
    #: How clients reach a secured stack's service; None on a plain stack.
    security: ServiceSecurity | None = None


@dataclass(frozen=True)
class UpResult:
    already_running: bool
    services: list[ServiceStatus]


@dataclass
class _Record:
    pid: int
    address: str
    log_file: str
    version: str


class LocalStack:
    """One local ZooKeeper + Kafka, identified by its state directory."""

    def __init__(self, settings: StackSettings) -> None:
        self.settings = settings
        self.marker = process.stack_marker(settings.state_dir)

    # ---- state file -------------------------------------------------------------------

    @property
    def _state_file(self) -> Path:
        return self.settings.state_dir / "state.json"

    def _load(self) -> dict[str, _Record]:
        try:
            raw = json.loads(self._state_file.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return {}
        return {name: _Record(**fields) for name, fields in raw.get("services", {}).items()}

    def _save(self, records: dict[str, _Record]) -> None:
        self.settings.state_dir.mkdir(parents=True, exist_ok=True)
        payload = {"services": {name: asdict(rec) for name, rec in records.items()}}
        tmp = self._state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(payload, indent=2))
        tmp.replace(self._state_file)

    # ---- queries ----------------------------------------------------------------------

    @property
    def security(self) -> StackSecurity | None:
        """The state dir's certificates and credentials; None for a plain stack."""
        material = security.security_of(self.settings.state_dir)
        return material if material.is_complete else None

    @property
    def second_cluster(self) -> StackSettings:
        """The second Kafka cluster's settings (``kafka-b``), whether it runs or not."""
        return second_cluster_settings(self.settings)

    def _service_names(self, records: dict[str, _Record]) -> tuple[str, ...]:
        """The stack's services: the second cluster once it was started or is wanted."""
        if SECOND_KAFKA in records or self.settings.clusters == 2:
            return (*SERVICES, SECOND_KAFKA)
        return SERVICES

    def _recorded(self, records: dict[str, _Record]) -> StackSettings:
        """The settings with the ports the running services were started on: a stack
        started with ``--kafka-port`` is probed there even when ``status`` is not told."""
        ports = {
            "zookeeper": "zookeeper_port",
            "kafka": "kafka_port",
            SECOND_KAFKA: "second_kafka_port",
        }
        update: dict[str, int] = {}
        for name, field in ports.items():
            rec = records.get(name)
            port = rec.address.rpartition(":")[2] if rec is not None else ""
            if port.isdigit():
                update[field] = int(port)
        return self.settings.model_copy(update=update)

    def _probe(self, name: str, settings: StackSettings) -> bool:
        if name == "zookeeper":
            return services.zookeeper_is_ready(settings, self.security)
        if name == SECOND_KAFKA:
            return services.kafka_is_ready(second_cluster_settings(settings))
        return services.kafka_is_ready(settings, self.security)

    def _layout(self, name: str) -> services.ServiceLayout:
        if name == SECOND_KAFKA:
            return services.layout(self.second_cluster, "kafka")
        return services.layout(self.settings, name)

    def status(self) -> list[ServiceStatus]:
        records = self._load()
        recorded = self._recorded(records)
        material = self.security
        result = []
        for name in self._service_names(records):
            rec = records.get(name)
            log_file = self._layout(name).log_file
            secured = None if material is None else security.service_security(material, name)
            if rec is None:
                result.append(ServiceStatus(name, None, "-", False, False, log_file, secured))
                continue
            running = process.is_ours(rec.pid, self.marker)
            healthy = running and self._probe(name, recorded)
            result.append(
                ServiceStatus(name, rec.pid, rec.address, running, healthy, log_file, secured)
            )
        return result

    def is_up(self) -> bool:
        return all(s.healthy for s in self.status())

    def log_file(self, name: str) -> Path:
        known = (*SERVICES, SECOND_KAFKA)
        if name not in known:
            raise StackError(f"unknown service {name!r}; the stack runs {', '.join(known)}")
        return self._layout(name).log_file

    def service_names(self) -> tuple[str, ...]:
        """The services this stack runs (or ran): ``kafka-b`` too once it was started."""
        return self._service_names(self._load())

    # ---- up ---------------------------------------------------------------------------

    def up(self, progress: Callable[[str], None] = lambda _: None) -> UpResult:
        self._check_mode()
        if self.is_up():
            return UpResult(already_running=True, services=self.status())
        if self._load() or process.find_ours(self.marker):
            progress("a previous stack is half up; stopping what is left of it")
            self.down()
        self._check_prerequisites()
        material = self.security
        if self.settings.secure and material is None:
            progress("making a throw-away certificate authority and credentials")
            hosts = [self.settings.host, "127.0.0.1", "localhost"]
            material = security.generate(self.settings.state_dir, hosts)
        progress("fetching ZooKeeper and Kafka (Maven, cached after the first time)")
        zk_lib = artifacts.fetch(
            self.settings.cache_dir,
            artifacts.zookeeper_distribution(self.settings.zookeeper_version),
        )
        kafka_lib = artifacts.fetch(
            self.settings.cache_dir, artifacts.kafka_distribution(self.settings.kafka_version)
        )
        self._check_ports()
        records: dict[str, _Record] = {}
        try:
            progress(f"starting ZooKeeper on {self.settings.zookeeper_connect}")
            records["zookeeper"] = self._start_zookeeper(zk_lib, material)
            self._save(records)
            progress(f"starting Kafka on {self.settings.kafka_bootstrap}")
            records["kafka"] = self._start_kafka(kafka_lib, material)
            self._save(records)
            if self.settings.clusters == 2:
                second = self.second_cluster
                progress(f"starting the second Kafka cluster on {second.kafka_bootstrap}")
                records[SECOND_KAFKA] = self._start_kafka(kafka_lib, None, SECOND_KAFKA)
                self._save(records)
        except BaseException:
            self.down()
            raise
        return UpResult(already_running=False, services=self.status())

    def _check_mode(self) -> None:
        """A state dir stays plain or secured for its life (see the module doc)."""
        state_dir = self.settings.state_dir
        if self.settings.secure and self.settings.clusters > 1:
            raise StackError("a secured stack runs one Kafka cluster; --clusters 2 is plain only")
        if self.settings.secure and self.security is None:
            if services.kafka_storage_is_formatted(self.settings):
                raise StackError(
                    f"the stack in {state_dir} was made without --secure; run "
                    "`turnout dev down --purge` first, or choose another state dir"
                )
        elif not self.settings.secure and self.security is not None:
            raise StackError(
                f"the stack in {state_dir} is secured; start it with --secure, or run "
                "`turnout dev down --purge` first for a plain one"
            )

    def _check_prerequisites(self) -> None:
        if shutil.which("java") is None:
            raise StackError(
                "Java is not on PATH; Kafka and ZooKeeper need a JVM (17 or newer; "
                "Debian: apt-get install openjdk-17-jre-headless)"
            )

    def _check_ports(self) -> None:
        wanted = {
            "ZooKeeper client": self.settings.zookeeper_port,
            "Kafka": self.settings.kafka_port,
            "Kafka controller": self.settings.kafka_controller_port,
        }
        if self.settings.clusters == 2:
            wanted["second Kafka"] = self.settings.second_kafka_port
            wanted["second Kafka controller"] = self.settings.second_kafka_controller_port
        if len(set(wanted.values())) != len(wanted):
            raise StackError(f"the stack's ports must differ: {wanted}")
        for role, port in wanted.items():
            if not process.port_is_free(self.settings.host, port):
                raise StackError(
                    f"port {port} ({role}) on {self.settings.host} is taken by another "
                    "process; free it or choose another port"
                )

    def _start_zookeeper(self, lib: Path, material: StackSecurity | None) -> _Record:
        zk = services.write_zookeeper_config(self.settings, material)
        pid = process.spawn_detached(
            services.zookeeper_command(self.settings, lib, self.marker, material),
            zk.log_file,
            zk.home,
        )
        self._await_ready("zookeeper", pid, zk.log_file, ZOOKEEPER_START_TIMEOUT_S)
        return _Record(
            pid, self.settings.zookeeper_connect, str(zk.log_file), self.settings.zookeeper_version
        )

    def _start_kafka(
        self, lib: Path, material: StackSecurity | None, name: str = "kafka"
    ) -> _Record:
        # Both clusters' processes carry the stack's marker, so `down` finds either.
        settings = self.second_cluster if name == SECOND_KAFKA else self.settings
        kafka = services.write_kafka_config(settings, material)
        if not services.kafka_storage_is_formatted(settings):
            services.format_kafka_storage(settings, lib, self.marker, material)
        pid = process.spawn_detached(
            services.kafka_command(settings, lib, self.marker), kafka.log_file, kafka.home
        )
        self._await_ready(name, pid, kafka.log_file, KAFKA_START_TIMEOUT_S)
        return _Record(pid, settings.kafka_bootstrap, str(kafka.log_file), settings.kafka_version)

    def _await_ready(self, name: str, pid: int, log_file: Path, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not process.is_ours(pid, self.marker):
                code = process.exit_code(pid)
                raise StackError(
                    f"{name} exited during start (exit code {code})",
                    read_log_tail(log_file),
                    log_file,
                )
            if self._probe(name, self.settings):
                return
            time.sleep(_PROBE_INTERVAL_S)
        process.stop(pid, self.marker)
        raise StackError(
            f"{name} did not become ready within {timeout_s:.0f} s",
            read_log_tail(log_file),
            log_file,
        )

    # ---- down -------------------------------------------------------------------------

    def down(self, purge: bool = False) -> list[str]:
        """Stop every process of the stack; with ``purge`` also delete its data."""
        stopped = []
        records = self._load()
        for name in reversed(self._service_names(records)):
            rec = records.get(name)
            if rec is not None and process.is_ours(rec.pid, self.marker):
                process.stop(rec.pid, self.marker)
                stopped.append(name)
        for pid in process.find_ours(self.marker):
            process.stop(pid, self.marker)
            stopped.append(f"stray pid {pid}")
        self._state_file.unlink(missing_ok=True)
        if purge:
            for name in SERVICES:
                shutil.rmtree(services.layout(self.settings, name).home, ignore_errors=True)
            shutil.rmtree(self.second_cluster.state_dir, ignore_errors=True)
            material = security.security_of(self.settings.state_dir)
            shutil.rmtree(material.directory, ignore_errors=True)
        return stopped
