from __future__ import annotations

from turnout.controlplane.domain.switch_observation import observe_owners, superseded_reason
from turnout.protocol import Binding, Colour, Directive, Ownership, Role

BLUE, GREEN = Colour.BLUE, Colour.GREEN


def owner(colour: Colour, epoch: int) -> Ownership:
    return Ownership(instance=f"{colour.value}-0", colour=colour, session_id=1, epoch=epoch)


def test_owners_are_counted_by_colour_and_the_new_colour_only_at_the_switch_epoch() -> None:
    owners = {
        "payments/0": owner(BLUE, 7),
        "payments/1": owner(GREEN, 8),
        "payments/2": owner(GREEN, 7),  # claimed under an older directive: not this switch's
        "other/0": owner(BLUE, 7),  # not a live partition
    }
    seen = observe_owners(
        owners,
        in_binding={"payments"}.__contains__,
        partitions=[("payments", p) for p in range(4)],
        from_colour=BLUE,
        to_colour=GREEN,
        epoch=8,
    )
    assert (seen.total_partitions, seen.owned_by_old, seen.owned_by_new) == (4, 1, 1)
    assert not seen.released and not seen.claimed


def test_without_a_partition_list_the_owned_partitions_of_the_topics_count() -> None:
    owners = {"payments/0": owner(GREEN, 8), "payments/1": owner(GREEN, 8), "x/0": owner(BLUE, 1)}
    seen = observe_owners(
        owners,
        in_binding={"payments"}.__contains__,
        partitions=None,
        from_colour=BLUE,
        to_colour=GREEN,
        epoch=8,
    )
    assert (seen.total_partitions, seen.owned_by_old, seen.owned_by_new) == (None, 0, 2)
    assert seen.released and not seen.claimed  # the total is unknown: never claimed


def directive(epoch: int, live: Colour) -> Directive:
    other = GREEN if live is BLUE else BLUE
    return Directive(
        epoch=epoch,
        deployment="billing",
        live=Binding(group="billing", topics=("payments",)),
        roles={live: Role.LIVE, other: Role.STANDBY},
    )


def test_a_switch_is_superseded_by_deletion_or_a_newer_directive_for_another_colour() -> None:
    assert superseded_reason(None, switch_epoch=8, to_colour=GREEN) == (
        "the directive was deleted from ZooKeeper"
    )
    reason = superseded_reason(directive(9, BLUE), switch_epoch=8, to_colour=GREEN)
    assert reason is not None and "epoch 9 makes blue live" in reason


def test_its_own_directive_an_older_one_or_a_newer_same_colour_one_do_not_supersede() -> None:
    assert superseded_reason(directive(8, GREEN), switch_epoch=8, to_colour=GREEN) is None
    assert superseded_reason(directive(9, GREEN), switch_epoch=8, to_colour=GREEN) is None
    assert superseded_reason(directive(7, BLUE), switch_epoch=8, to_colour=GREEN) is None
    assert superseded_reason(directive(7, BLUE), switch_epoch=None, to_colour=GREEN) is None
