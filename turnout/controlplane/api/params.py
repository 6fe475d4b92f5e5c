"""Path parameters with their limits, so a route cannot take an unbounded name.

A name in a path is looked up, never stored, but it is echoed into errors and logs and
used as a ZooKeeper path segment: it gets the same length and character rules as the
name it was created with (``turnout.protocol.paths.NAME_PATTERN``), and a 422 naming it
otherwise.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from turnout.protocol.paths import NAME_PATTERN

_NAME_RULE = "1-200 characters of letters, digits, '.', '_' or '-'"

DeploymentName = Annotated[
    str, Path(max_length=200, pattern=NAME_PATTERN.pattern, description=f"Deployment: {_NAME_RULE}")
]
ClusterName = Annotated[
    str, Path(max_length=200, pattern=NAME_PATTERN.pattern, description=f"Cluster: {_NAME_RULE}")
]
TokenName = Annotated[
    str, Path(max_length=200, pattern=NAME_PATTERN.pattern, description=f"Token: {_NAME_RULE}")
]
#: Switch ids are UUIDs (36 characters); 64 leaves room without admitting a page of text.
SwitchId = Annotated[
    str, Path(max_length=64, pattern=r"^[A-Za-z0-9-]+$", description="A switch's id (a UUID)")
]
