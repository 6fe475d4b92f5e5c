"""Every ZooKeeper path of the layout in docs/protocol.md, and the names allowed in it."""

from __future__ import annotations

import re

import pytest

from turnout.protocol import DeploymentPaths
from turnout.protocol.paths import DEFAULT_ROOT, deployments_path, validate_name

BASE = "/turnout/deployments/billing"


@pytest.fixture
def paths() -> DeploymentPaths:
    return DeploymentPaths(DEFAULT_ROOT, "billing")


def test_the_default_root_is_slash_turnout() -> None:
    assert DEFAULT_ROOT == "/turnout"
    assert deployments_path() == "/turnout/deployments"


def test_every_node_of_a_deployment_is_where_the_layout_puts_it(paths: DeploymentPaths) -> None:
    assert paths.base == BASE
    assert paths.directive == f"{BASE}/directive"
    assert paths.instances == f"{BASE}/instances"
    assert paths.instance("billing-1") == f"{BASE}/instances/billing-1"
    assert paths.statuses == f"{BASE}/status"
    assert paths.status("billing-1") == f"{BASE}/status/billing-1"
    assert paths.owners == f"{BASE}/owners"
    assert paths.owner("billing", "invoices", 3) == f"{BASE}/owners/billing/invoices/3"
    assert paths.offsets == f"{BASE}/offsets"
    assert paths.offset("billing", "invoices", 3) == f"{BASE}/offsets/billing/invoices/3"
    assert paths.assignments == f"{BASE}/assignments"
    assert paths.assignment("billing") == f"{BASE}/assignments/billing"


def test_the_root_slash_puts_deployments_at_the_top_of_the_tree() -> None:
    assert deployments_path("/") == "/deployments"
    assert DeploymentPaths("/", "billing").directive == "/deployments/billing/directive"


def test_a_nested_root_prefixes_every_path() -> None:
    paths = DeploymentPaths("/team/turnout", "billing")
    assert deployments_path("/team/turnout") == "/team/turnout/deployments"
    assert paths.status("b-0") == "/team/turnout/deployments/billing/status/b-0"


@pytest.mark.parametrize("root", ["turnout", "/turnout/", ""])
def test_a_root_must_be_absolute_without_a_trailing_slash(root: str) -> None:
    with pytest.raises(ValueError, match="must be absolute, without a trailing /"):
        DeploymentPaths(root, "billing")


@pytest.mark.parametrize("deployment", ["", "a/b", "..", ".", "bad name", "x" * 201])
def test_a_deployment_name_must_be_one_safe_path_segment(deployment: str) -> None:
    with pytest.raises(ValueError, match="deployment"):
        DeploymentPaths(DEFAULT_ROOT, deployment)


def test_instance_status_and_assignment_paths_refuse_names_that_are_not_one_segment(
    paths: DeploymentPaths,
) -> None:
    with pytest.raises(ValueError, match=re.escape("instance '../directive'")):
        paths.instance("../directive")
    with pytest.raises(ValueError, match=re.escape("instance 'a/b'")):
        paths.status("a/b")
    with pytest.raises(ValueError, match=re.escape("group '..'")):
        paths.assignment("..")


@pytest.mark.parametrize("name", ["a", "billing-1", "Billing_2.blue", "x" * 200, "..."])
def test_names_are_letters_digits_dots_underscores_and_dashes_up_to_200(name: str) -> None:
    assert validate_name("instance", name) == name


@pytest.mark.parametrize("name", ["", "x" * 201, "a b", "a/b", "é", ".", "..", "a\n"])
def test_anything_else_is_refused_with_the_kind_and_the_rule(name: str) -> None:
    with pytest.raises(ValueError, match=r"^instance .* must be 1-200 characters of letters"):
        validate_name("instance", name)


@pytest.mark.parametrize(
    ("group", "topic", "partition"),
    [
        ("billing", "../../other/owners/g/t", 0),
        ("billing/x", "invoices", 0),
        ("..", "invoices", 0),
        ("billing", "invoices", -1),
    ],
)
def test_owner_and_offset_paths_refuse_what_is_not_one_segment_each(
    paths: DeploymentPaths, group: str, topic: str, partition: int
) -> None:
    with pytest.raises(ValueError):
        paths.owner(group, topic, partition)
    with pytest.raises(ValueError):
        paths.offset(group, topic, partition)
