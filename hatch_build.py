"""Hatch build hook: the wheel carries the built dashboard and the database migrations.

In the source tree they live outside the package (``web/dist``, built by
``scripts/bootstrap.sh``; ``alembic/`` and ``alembic.ini`` at the root). The wheel puts them
inside it, where an installed control plane finds them:

    web/dist/    -> turnout/controlplane/dashboard/
    alembic/     -> turnout/controlplane/alembic/
    alembic.ini  -> turnout/controlplane/alembic.ini

An editable install (the dev environment) gets none of them: there the control plane finds
them in the checkout. A wheel without a built dashboard is refused, with how to build one.
The dashboard's source maps stay out of the wheel: they are for debugging the checkout's
build, and they would be most of the wheel's size.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

#: Source path (relative to the project root) -> path inside the wheel.
PACKAGE_DATA = {
    "alembic": "turnout/controlplane/alembic",
    "alembic.ini": "turnout/controlplane/alembic.ini",
}


#: Where the built dashboard (``web/dist``, source maps left out) goes inside the wheel.
DASHBOARD_IN_WHEEL = "turnout/controlplane/dashboard"


class PackageDataHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if version == "editable":
            return
        root = Path(self.root)
        if not (root / "web" / "dist" / "index.html").is_file():
            raise RuntimeError(
                "the dashboard is not built (no web/dist/index.html), and the wheel must carry "
                "it: run scripts/bootstrap.sh, or `npm ci && npm run build` in web/"
            )
        for source, target in PACKAGE_DATA.items():
            build_data["force_include"][str(root / source)] = target
        dist = root / "web" / "dist"
        for path in sorted(dist.rglob("*")):
            if path.is_file() and path.suffix != ".map":
                relative = path.relative_to(dist).as_posix()
                build_data["force_include"][str(path)] = f"{DASHBOARD_IN_WHEEL}/{relative}"
