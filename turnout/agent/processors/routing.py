"""Where a logical output is written: its topic for the role of the colour writing it.

Pure: the deployment's ``outputs`` map (``ProcessingSettings.outputs``) and a role in, a
topic (or a refusal) out. A LIVE colour writes to each output's ``live`` topic, a PREVIEW
colour to its ``preview`` topic and never to a live one (the settings refuse a preview
topic that is any output's live topic), and a STANDBY colour, which owns no partition,
writes nothing: an output emitted without a role is refused, not guessed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from turnout.agent.work.outcomes import PermanentFailure
from turnout.protocol.models import Role
from turnout.protocol.processing import OutputTopics


class UnknownOutputError(PermanentFailure):
    """The processor emitted to an output the deployment does not map: retrying cannot
    help until the settings name it, so the failure policy decides at once."""


class NoOutputRoleError(PermanentFailure):
    """An output was emitted while this colour has no role that writes (standby)."""


class Routes(Protocol):
    """Where an output goes: the deployment's ``OutputRoutes``, or routes the code brings
    with an ``OutputTarget`` (the mirror's: a topic per source topic)."""

    def topic(self, output: str, role: Role | None) -> str:
        """The topic ``output`` is written to by a colour in ``role``; raises a
        ``PermanentFailure`` when it may not be written."""
        ...

    def topics(self, role: Role) -> frozenset[str]:
        """Every topic a colour in ``role`` may write to, as far as known now (a warm
        standby connects to them)."""
        ...


class OutputRoutes:
    """The deployment's logical outputs, as topics per role."""

    __slots__ = ("_live", "_preview")

    def __init__(self, outputs: Mapping[str, OutputTopics]) -> None:
        self._live = {name: topics.live for name, topics in outputs.items()}
        self._preview = {name: topics.preview for name, topics in outputs.items()}

    def topic(self, output: str, role: Role | None) -> str:
        """The topic ``output`` is written to by a colour in ``role``."""
        if role is Role.LIVE:
            topics = self._live
        elif role is Role.PREVIEW:
            topics = self._preview
        else:
            raise NoOutputRoleError(f"output {output!r} emitted by a colour in role {role}")
        topic = topics.get(output)
        if topic is None:
            known = ", ".join(sorted(topics)) or "none"
            raise UnknownOutputError(
                f"output {output!r} is not in the deployment's outputs (known: {known})"
            )
        return topic

    def topics(self, role: Role) -> frozenset[str]:
        """Every topic a colour in ``role`` may write to."""
        return frozenset((self._live if role is Role.LIVE else self._preview).values())
