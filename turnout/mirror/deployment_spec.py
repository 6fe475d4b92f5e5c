"""A mirror agent's settings from its deployment: the directive's mirror part, read once
at start, with the agent process's own options where a local override makes sense.

The deployment fixes where copies go and under which names (the control plane validated
them, and every instance must agree on them); a process may only reach the target by
another address (``--target-kafka``: a different listener, say). A deployment that is
not a mirror (no mirror part) takes every setting from the process, as a mirror of a
plain deployment does.
"""

from __future__ import annotations

from typing import Final

from turnout.agent.config import AgentConfig
from turnout.agent.environment import zookeeper_gateway
from turnout.mirror.settings import MirrorSettings
from turnout.protocol import Directive
from turnout.protocol.mirror import MirrorSpec
from turnout.protocol.paths import DeploymentPaths
from turnout.zk import ZkError, ZkNoNodeError

#: How long reading the directive at start may take: a ZooKeeper that does not answer
#: within it fails the start with the reason, instead of a mirror starting on guesses.
READ_DIRECTIVE_TIMEOUT_S: Final = 15.0

#: Options the deployment decides for a mirror; given locally too, they must agree.
DEPLOYMENT_DECIDES: Final = ("source_alias", "naming", "prefix", "template", "coordinate_headers")


class MirrorSpecError(ValueError):
    """The deployment's mirror part and the process's options cannot make one mirror."""


def read_mirror_spec(config: AgentConfig) -> MirrorSpec | None:
    """The deployment's mirror part; None when the deployment is not a mirror (or has no
    directive yet). Raises ``MirrorSpecError`` when ZooKeeper cannot be read."""
    directive = read_directive(config)
    return None if directive is None else directive.mirror


def read_directive(config: AgentConfig) -> Directive | None:
    """The deployment's directive, read once; None when it has none yet. Raises
    ``MirrorSpecError`` when ZooKeeper cannot be read."""
    gateway = zookeeper_gateway(config)
    try:
        gateway.start(timeout_s=READ_DIRECTIVE_TIMEOUT_S)
        data, _ = gateway.get(DeploymentPaths(config.zk_root, config.deployment).directive)
    except ZkNoNodeError:
        return None
    except ZkError as exc:
        raise MirrorSpecError(
            f"cannot read deployment {config.deployment!r}'s directive: {exc}"
        ) from exc
    finally:
        gateway.stop()
    return Directive.from_bytes(data)


def merged_settings(spec: MirrorSpec | None, given: dict[str, object]) -> MirrorSettings:
    """The mirror's settings: ``given`` (the process's options, set ones only) over the
    environment when ``spec`` is None; else the deployment's, with ``target_kafka`` the
    only local override of what it decides (how to reach the target, its security file,
    is always local: credentials never go into a directive). Raises ``MirrorSpecError``
    for a local option that contradicts the deployment, and ``pydantic.ValidationError``
    for a bad value."""
    if spec is None:
        return MirrorSettings(**given)  # type: ignore[arg-type]
    try:
        naming = spec.topic_naming()
    except ValueError as exc:
        raise MirrorSpecError(
            f"the deployment's mirror naming is not one this agent knows: {exc}"
        ) from None
    decided = {
        "source_alias": spec.source_alias,
        "naming": naming.mode,
        "prefix": spec.prefix,
        "template": spec.template,
        "coordinate_headers": spec.coordinate_headers,
    }
    for name in DEPLOYMENT_DECIDES:
        if name in given and given[name] != decided[name]:
            raise MirrorSpecError(
                f"--{name.replace('_', '-')} {given[name]!r} contradicts the deployment's "
                f"mirror ({decided[name]!r}): a mirror's naming is the deployment's"
            )
    target_kafka = given.get("target_kafka") or spec.target_kafka
    merged = {**given, **decided, "target_kafka": target_kafka}
    return MirrorSettings(**merged)  # type: ignore[arg-type]
