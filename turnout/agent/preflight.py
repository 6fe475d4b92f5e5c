"""Before an agent touches anything: may it use its Kafka and its ZooKeeper at all?

An agent retries what may heal by itself (a cluster that is down, a session that
expired) for as long as it runs. Wrong credentials and missing rights never heal, and an
agent retrying them forever looks, from outside, like one that is merely slow. So
``check_access`` asks both clusters once, read-only, before the agent starts, and raises
:class:`AccessRefused` with one line (what refused, where, as which user, what to check)
when either refuses; ``turnout agent run`` prints it and exits non-zero, having written
nothing (no registration, no ownership node, no commit).

What is checked:

- Kafka: a metadata request as the configured user. An authentication or TLS failure
  refuses; a cluster that does not answer at all is left to the agent's own retries.
- ZooKeeper: a session as the configured identity (a wrong SASL password closes it at
  once); then the ACLs of the deployment's nodes the agent writes (``instances``,
  ``status``, ``owners``, ``offsets``, ``assignments``): each must let this identity (or
  anyone) create and delete children. Nodes that do not exist yet are not judged (the
  agent creates them under the deployment's node, whose ACL is then judged instead). An
  unreachable ZooKeeper, again, is left to the retries.

A library embedding ``Agent`` calls ``check_access(config)`` itself before ``start()``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from confluent_kafka import Consumer, KafkaError, KafkaException

from turnout.agent.config import AgentConfig
from turnout.protocol.paths import DeploymentPaths
from turnout.zk import ZkAuthFailedError, ZkError, ZkGateway, ZkNoAuthError, ZkNoNodeError
from turnout.zk.acl import Permission, grants

#: The metadata request of the Kafka check: a healthy broker answers in milliseconds, a
#: refused SASL handshake within one round trip; longer means down, which is not judged.
KAFKA_CHECK_S = 5.0
#: Connecting the ZooKeeper check's session: the same reasoning.
ZOOKEEPER_CHECK_S = 5.0
#: librdkafka error codes that say the credentials or the TLS settings are wrong.
_REFUSED = frozenset({KafkaError._AUTHENTICATION, KafkaError._SSL})
#: What the agent does under the nodes it writes: creates and deletes its own children.
_NEEDED = (Permission.CREATE, Permission.DELETE)

logger = logging.getLogger("turnout.agent")


class AccessRefused(Exception):
    """A cluster refused this agent's credentials or rights; the message is one line."""


def check_access(config: AgentConfig) -> None:
    """Raise :class:`AccessRefused` if Kafka or ZooKeeper refuses this agent."""
    check_kafka(config)
    check_zookeeper(config)


def check_kafka(config: AgentConfig) -> None:
    errors: list[KafkaError] = []
    who = config.kafka_security.describe()
    try:
        consumer = Consumer(
            {
                **config.kafka_client_properties,
                "bootstrap.servers": config.kafka,
                "group.id": f"turnout-{config.deployment}-access-check",
                "error_cb": errors.append,
                "log_level": 0,
            }
        )
    except KafkaException as exc:  # e.g. a CA file librdkafka cannot read
        raise AccessRefused(
            f"a Kafka client for {config.kafka} ({who}) cannot be made: {exc}; check the "
            "TURNOUT_KAFKA_* settings and the agent's kafka properties"
        ) from None
    try:
        try:
            consumer.list_topics(timeout=KAFKA_CHECK_S)
            return
        except KafkaException:
            consumer.poll(0)  # delivers the errors librdkafka queued (error_cb)
    finally:
        consumer.close()
    refused = [error for error in errors if error.code() in _REFUSED]
    if refused:
        raise AccessRefused(
            f"Kafka at {config.kafka} refused the agent ({who}): {refused[0].str()}; check "
            "TURNOUT_KAFKA_USERNAME, TURNOUT_KAFKA_PASSWORD_FILE and TURNOUT_KAFKA_CA_FILE"
        )
    logger.warning(
        "Kafka at %s does not answer yet (%s); the agent keeps trying", config.kafka, who
    )


def check_zookeeper(config: AgentConfig) -> None:
    security = config.zookeeper_security
    where = f"ZooKeeper at {config.zookeeper}"
    gateway = ZkGateway(
        config.zookeeper, session_timeout_s=config.session_timeout_s, security=security
    )
    try:
        gateway.start(timeout_s=ZOOKEEPER_CHECK_S)
    except ZkAuthFailedError as exc:
        raise AccessRefused(
            f"{exc}; check TURNOUT_ZOOKEEPER_USERNAME and TURNOUT_ZOOKEEPER_PASSWORD_FILE"
        ) from None
    except ZkError as exc:
        logger.warning("%s does not answer yet (%s); the agent keeps trying", where, exc)
        return
    try:
        paths = DeploymentPaths(config.zk_root, config.deployment)
        written = [paths.instances, paths.statuses, paths.owners, paths.offsets]
        missing = _first_lacking(gateway, paths.base, [*written, paths.assignments])
    finally:
        gateway.stop()
    if missing is not None:
        raise AccessRefused(
            f"{where} does not let the agent ({security.describe()}) create and delete "
            f"under {missing}; check the deployment's zookeeper_user in the control plane "
            "and TURNOUT_ZOOKEEPER_USERNAME"
        )


def _first_lacking(gateway: ZkGateway, base: str, directories: Sequence[str]) -> str | None:
    """The first of ``directories`` (or ``base``, where the agent would create a missing
    one) this session may not create and delete children of; None: all allowed."""
    identities = gateway.identities()
    for directory in directories:
        judged = directory
        try:
            try:
                acl = gateway.get_acls(directory)
            except ZkNoNodeError:
                judged = base
                acl = gateway.get_acls(base)
        except ZkNoNodeError:
            continue  # no deployment yet: whoever creates it sets its ACL
        except ZkNoAuthError:
            return judged
        if not all(grants(acl, identities, permission) for permission in _NEEDED):
            return judged
    return None
