"""Which side of a mirror each colour of a migrating deployment consumes.

A deployment on cluster A moves to cluster B by a switch: one colour consumes its
topics on A (``SOURCE``), the other their copies on B, made by a Turnout mirror
deployment (``COPIES``; docs/mirror.md, "Cluster migration"). The control plane writes
each colour's side into the directive (``Directive.crossings``); an agent is told its
side by the process that runs it (``turnout mirror consume``, or
``migration_environment`` in code), because only that process has the other cluster's
address and credentials.

The two must agree, or the colour refuses to own anything
(``Directive.crossing_refusal``): a
colour consuming A while the directive says B would start each partition at A's
commit, not at the translated one, and process records twice or skip them. A directive
without crossings says nothing about sides (a control plane that does not manage the
migration, or a deployment that does not migrate): every agent goes on as it was
started.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, field_validator

from turnout.protocol.paths import validate_name


class MirrorSide(StrEnum):
    #: The colour runs on the mirror's target cluster and fetches the copies.
    COPIES = "copies"
    #: The colour runs on the source cluster; the copies are the other side.
    SOURCE = "source"


class Crossing(BaseModel):
    """One colour's side of the mirror its deployment migrates across."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    #: The mirror deployment whose copies (and offset syncs) join the two clusters.
    mirror: str
    side: MirrorSide
    #: The registered name of the cluster the colour runs on, for people reading the
    #: directive; agents do not compare it (they know their cluster by address only).
    cluster: str | None = None

    @field_validator("mirror")
    @classmethod
    def _mirror_is_a_name(cls, value: str) -> str:
        return validate_name("deployment", value)

    def same_side(self, other: Crossing) -> bool:
        """Whether ``other`` is this side of this mirror (whatever cluster it names)."""
        return (self.mirror, self.side) == (other.mirror, other.side)

    def describe(self) -> str:
        where = "its copies" if self.side is MirrorSide.COPIES else "its source"
        on = "" if self.cluster is None else f" on {self.cluster}"
        return f"{where}{on} (mirror {self.mirror!r})"
