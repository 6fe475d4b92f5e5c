"""Views of the world: their digest and order decide which published assignment wins."""

from __future__ import annotations

from turnout.agent.coordination.agreement import View, foreseen_partitions
from turnout.protocol import Binding, Colour, Directive, Role, Strategy


def _directive(epoch: int = 1, **extra: object) -> Directive:
    return Directive.model_validate(
        {
            "epoch": epoch,
            "deployment": "d",
            "live": Binding(group="g", topics=("t",)),
            "roles": {Colour.BLUE: Role.LIVE, Colour.GREEN: Role.STANDBY},
            **extra,
        }
    )


def _view(directive: Directive, members: tuple[str, ...] = ("a", "b"), version: int = 3) -> View:
    return View(
        directive=directive,
        colour=Colour.BLUE,
        group="g",
        members=members,
        members_version=version,
        partitions={"t": 4},
        use_pins=True,
    )


def test_equal_inputs_give_equal_digests_whoever_computes_them() -> None:
    assert _view(_directive()).digest() == _view(_directive()).digest()


def test_any_input_change_changes_the_digest() -> None:
    base = _view(_directive()).digest()
    assert _view(_directive(), members=("a",)).digest() != base
    assert _view(_directive(epoch=2)).digest() != base
    assert _view(_directive(strategy=Strategy.STICKY)).digest() != base


def test_pins_matter_only_to_the_manual_strategy() -> None:
    pinned = _directive(pins={"t/1": "b"})
    assert _view(pinned).digest() == _view(_directive()).digest()
    manual = _view(_directive(strategy=Strategy.MANUAL, pins={"t/1": "b"}))
    assert manual.digest() != _view(_directive(strategy=Strategy.MANUAL)).digest()
    assert manual.pins() == {("t", 1): "b"}


def test_newer_views_order_after_older_ones() -> None:
    old = _view(_directive(), version=3)
    assert _view(_directive(), version=4).order_key() > old.order_key()
    assert _view(_directive(epoch=2), version=1).order_key() > old.order_key()


def test_all_partitions_lists_every_partition_of_every_topic() -> None:
    assert _view(_directive()).all_partitions() == [("t", 0), ("t", 1), ("t", 2), ("t", 3)]


def test_a_standby_foresees_its_share_of_the_live_binding_among_its_colours_members() -> None:
    directive = _directive()
    registrations = [("g1", Colour.GREEN), ("g2", Colour.GREEN), ("b1", Colour.BLUE)]
    mine = foreseen_partitions(directive, Colour.GREEN, "g1", registrations, {"t": 4})
    theirs = foreseen_partitions(directive, Colour.GREEN, "g2", registrations, {"t": 4})
    assert len(mine) == len(theirs) == 2
    assert sorted(mine + theirs) == [("t", p) for p in range(4)]
    alone = foreseen_partitions(directive, Colour.GREEN, "g1", registrations[:1], {"t": 4})
    assert alone == [("t", p) for p in range(4)]
    assert foreseen_partitions(directive, Colour.GREEN, "gone", registrations, {"t": 4}) == []
