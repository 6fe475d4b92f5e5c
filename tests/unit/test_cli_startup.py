"""The `turnout` command imports only what the command it runs uses.

Each command runs in a fresh interpreter (``python -m turnout ...``), which then reports
every module it imported; the heavy libraries of the agent and the server must not be
among them for `--help` and the API-client commands. How long a start takes is measured
by ``python -m bench.cli``, not here.

The listing `--help` prints from the command sets' names and one-line help must be the
one the whole command prints once every module is imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from turnout.cli import COMMAND_SETS, app, build_app, command_name
from turnout.devstack.process import free_port

#: Libraries of the server, the agent and its coordination, and what a client command
#: needs none of: httpx and rich (neither the API client nor plain help uses them), and
#: pydantic, which typer 0.29 imports to coerce every parameter (hence the lock's
#: constraint on typer in pyproject.toml).
HEAVY = ("fastapi", "starlette", "uvicorn", "sqlalchemy", "alembic", "psycopg",
         "confluent_kafka", "kazoo", "httpx", "rich", "pydantic", "turnout.agent",
         "turnout.zk")  # fmt: skip
#: A command starts in a fraction of a second; a loaded box needs more, never this much.
COMMAND_TIMEOUT_S = 60.0

REPORT_IMPORTS = """\
import json, runpy, sys
sys.argv = ["turnout", *sys.argv[1:]]
try:
    runpy.run_module("turnout", run_name="__main__")
except SystemExit:
    pass
print("\\nIMPORTED " + json.dumps(sorted(sys.modules)))
"""
#: The console script's name decides the completion variable (``_TURNOUT_COMPLETE``).
RUN_AS_TURNOUT = "import sys; sys.argv[0] = 'turnout'; from turnout.cli import main; main()"


def imported_by(*args: str) -> set[str]:
    """The modules ``turnout *args`` imports, whether it succeeds or not."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("TURNOUT_")}
    # Nothing listens there: a client command fails after importing all it needs.
    env.update(TURNOUT_URL=f"http://127.0.0.1:{free_port()}", TURNOUT_TOKEN="tnt_test")
    done = subprocess.run(
        [sys.executable, "-c", REPORT_IMPORTS, *args],
        env=env, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S, check=False,
    )  # fmt: skip
    _, marker, listing = done.stdout.rpartition("\nIMPORTED ")
    assert marker, f"turnout {args} did not report its imports:\n{done.stdout}{done.stderr}"
    return set(json.loads(listing))


def heavy_among(modules: set[str]) -> list[str]:
    return sorted(
        module
        for module in modules
        if any(module == heavy or module.startswith(heavy + ".") for heavy in HEAVY)
    )


def test_help_imports_no_heavy_library() -> None:
    modules = imported_by("--help")
    assert "turnout.cli" in modules
    assert heavy_among(modules) == []


@pytest.mark.parametrize(
    "args",
    [
        ["status", "billing"],
        ["switch", "billing", "--to", "green"],
        ["rollback", "billing"],
        ["assign", "billing", "payments/3=billing-green-1", "--preview"],
        ["deployments", "list"],
        ["deployments", "show", "billing"],
        ["token", "--help"],
        ["controlplane", "--help"],
    ],
    ids=lambda args: " ".join(args),
)
def test_a_client_command_imports_the_api_client_and_no_heavy_library(args: list[str]) -> None:
    modules = imported_by(*args)
    assert "turnout.controlplane.cli" in modules
    assert heavy_among(modules) == []


def test_a_command_imports_no_other_command_module() -> None:
    modules = imported_by("dev", "--help")
    assert "turnout.devstack.cli" in modules
    assert not {"turnout.controlplane.cli", "turnout.agent.cli", "turnout.demo"} & modules


def test_the_listing_from_names_and_summaries_is_the_whole_commands_listing() -> None:
    runner = CliRunner()
    whole = runner.invoke(app, ["--help"])
    assert whole.exit_code == 0, whole.output
    named = [name for command_set in COMMAND_SETS for name in sorted(command_set.names())]
    for command in [None, *named]:
        built = runner.invoke(build_app(command), ["--help"])
        assert built.output == whole.output, f"with {command!r} imported"


def test_an_unknown_command_is_refused_with_a_suggestion() -> None:
    result = CliRunner().invoke(build_app(command_name(["stauts", "x"])), ["stauts", "x"])
    assert result.exit_code == 2
    assert "No such command 'stauts'" in result.output
    assert "status" in result.output


def test_the_command_is_the_first_word_that_is_not_an_option() -> None:
    assert command_name(["--help"]) is None
    assert command_name([]) is None
    assert command_name(["status", "--help"]) == "status"
    assert command_name(["--help", "dev", "up"]) == "dev"


def test_shell_completion_sees_the_sub_commands_of_a_group() -> None:
    env = {
        **os.environ,
        "_TURNOUT_COMPLETE": "complete_bash",
        "COMP_WORDS": "turnout dev ",
        "COMP_CWORD": "2",
    }
    done = subprocess.run(
        [sys.executable, "-c", RUN_AS_TURNOUT],
        env=env, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S, check=False,
    )  # fmt: skip
    assert {"up", "down", "status", "logs"} <= set(done.stdout.split()), done.stdout + done.stderr
