"""A colour consuming a mirror's copies on another cluster (cluster migration).

A deployment on cluster A names, for one of its colours, a Turnout mirror deployment
that copies its topics from A (``via_mirror``): that colour runs on the mirror's target
cluster and consumes the copies, and a switch moves the deployment there (docs/mirror.md,
"Cluster migration"). The directive gives each colour its side
(``Deployment.crossings``); agents started on another side own nothing.

What is checked, each a 422 naming the field (or a 409 for a state that forbids it):
the mirror exists, is a mirror, copies from this deployment's cluster and copies every
live topic; at most one colour crosses; a deployment with a preview binding, or a mirror
itself, has no colour across a mirror; the live colour's side changes only by a switch.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from turnout.controlplane.errors import ConflictError, InvalidFieldsError
from turnout.controlplane.models import Cluster, Deployment
from turnout.protocol import Colour, Role

Field = tuple[str, ...]


#: Said at the deployment's ``colours`` when two colours name a mirror.
AT_MOST_ONE = "at most one colour consumes a mirror's copies"


def _invalid(field: Field, message: str) -> InvalidFieldsError:
    return InvalidFieldsError([(field, message)])


def _refusals(field: Field, *, has_preview: bool, is_mirror: bool) -> list[tuple[Field, str]]:
    """Why no colour of this deployment may consume a mirror's copies, said at ``field``."""
    problems: list[tuple[Field, str]] = []
    if has_preview:
        problems.append((field, "a deployment with a preview binding cannot migrate"))
    if is_mirror:
        problems.append((field, "a mirror's colours copy from its own cluster"))
    return problems


def checked_mirror(
    session: Session, *, name: str, cluster: Cluster, topics: Iterable[str], field: Field
) -> Deployment:
    """The mirror deployment ``name``, if a colour of a deployment on ``cluster`` whose
    live binding lists ``topics`` may consume its copies; else 422 naming ``field``."""
    mirror = session.scalar(select(Deployment).where(Deployment.name == name))
    if mirror is None:
        raise _invalid(field, f"no deployment named {name!r}")
    if mirror.mirror_target is None:
        raise _invalid(field, f"{name!r} is not a mirror deployment")
    if mirror.cluster_id != cluster.id:
        raise _invalid(
            field,
            f"mirror {name!r} copies from cluster {mirror.cluster.name!r}, not {cluster.name!r}",
        )
    copied = mirror.live_binding()
    missing = sorted(t for t in topics if not copied.matches(t))
    if missing:
        raise _invalid(field, f"mirror {name!r} does not copy {', '.join(missing)}")
    return mirror


def crossing_fields(mirror: Deployment) -> dict[str, str]:
    """What a colour's stored entry holds when it consumes ``mirror``'s copies."""
    assert mirror.mirror_target is not None
    return {"via_mirror": mirror.name, "cluster": mirror.mirror_target.name}


def check_create(
    session: Session,
    *,
    cluster: Cluster,
    topics: Iterable[str],
    has_preview: bool,
    is_mirror: bool,
    wanted: Mapping[Colour, str | None],
) -> dict[Colour, dict[str, str]]:
    """The stored crossing fields of each colour that names a mirror at creation."""
    named = {c: m for c, m in wanted.items() if m is not None}
    problems: list[tuple[Field, str]] = []
    if len(named) > 1:
        problems.append((("body", "colours"), AT_MOST_ONE))
    for colour in named:
        field = ("body", "colours", colour.value, "via_mirror")
        problems += _refusals(field, has_preview=has_preview, is_mirror=is_mirror)
    if problems:
        raise InvalidFieldsError(problems)
    return {
        colour: crossing_fields(
            checked_mirror(
                session,
                name=name,
                cluster=cluster,
                topics=topics,
                field=("body", "colours", colour.value, "via_mirror"),
            )
        )
        for colour, name in named.items()
    }


def apply_update(
    session: Session,
    deployment: Deployment,
    colours: dict[str, dict[str, Any]],
    changes: Mapping[str, Mapping[str, Any]],
) -> None:
    """Apply the ``via_mirror`` changes of a PATCH's ``colours`` to ``colours`` (the
    deployment's stored entries, copied); 409 for the live colour, 422 for a bad one."""
    roles = deployment.roles()
    for name, change in changes.items():
        if "via_mirror" not in change:
            continue
        colour = Colour(name)
        entry = colours[name]
        if change["via_mirror"] == entry.get("via_mirror"):
            continue
        if roles[colour] is Role.LIVE:
            raise ConflictError(
                f"{colour} is live: the cluster it consumes on changes only by a switch "
                "(change the standby colour's, then switch to it)"
            )
        entry.pop("via_mirror", None)
        entry.pop("cluster", None)
        if change["via_mirror"] is None:
            continue
        field = ("body", "colours", name, "via_mirror")
        refusals = _refusals(
            field,
            has_preview=deployment.preview is not None,
            is_mirror=deployment.mirror is not None,
        )
        if refusals:
            raise InvalidFieldsError(refusals)
        mirror = checked_mirror(
            session,
            name=str(change["via_mirror"]),
            cluster=deployment.cluster,
            topics=deployment.live_binding().topics,
            field=field,
        )
        entry.update(crossing_fields(mirror))
    across = [c for c, entry in colours.items() if entry.get("via_mirror")]
    if len(across) > 1:
        raise _invalid(("body", "colours"), AT_MOST_ONE)


def check_still_covered(session: Session, deployment: Deployment, field: Field) -> None:
    """422 when the deployment's (changed) live binding is no longer all copied by the
    mirror a colour consumes across."""
    for entry in deployment.colours.values():
        name = entry.get("via_mirror")
        if name:
            checked_mirror(
                session,
                name=str(name),
                cluster=deployment.cluster,
                topics=deployment.live_binding().topics,
                field=field,
            )


def crossing_users(session: Session, mirror: Deployment) -> list[str]:
    """The deployments with a colour consuming ``mirror``'s copies (on its cluster)."""
    same_cluster: Iterable[Deployment] = session.scalars(
        select(Deployment).where(Deployment.cluster_id == mirror.cluster_id)
    )
    return sorted(
        d.name
        for d in same_cluster
        if any(entry.get("via_mirror") == mirror.name for entry in d.colours.values())
    )
