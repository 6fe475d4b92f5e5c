"""What the gateway raises: one tree under ZkError, so callers never catch kazoo's."""

from __future__ import annotations

import pytest

from turnout.zk import (
    ZkBadVersionError,
    ZkError,
    ZkNoAuthError,
    ZkNodeExistsError,
    ZkNoNodeError,
    ZkNotEmptyError,
    ZkTransactionError,
    ZkUnavailableError,
)


@pytest.mark.parametrize(
    "error",
    [
        ZkUnavailableError,
        ZkNoNodeError,
        ZkNodeExistsError,
        ZkBadVersionError,
        ZkNotEmptyError,
        ZkNoAuthError,
        ZkTransactionError,
    ],
)
def test_every_gateway_error_is_a_zk_error(error: type[Exception]) -> None:
    assert issubclass(error, ZkError)


def test_the_outcome_errors_are_distinct_so_one_except_clause_catches_one_case() -> None:
    leaves = [ZkUnavailableError, ZkNoNodeError, ZkNodeExistsError, ZkBadVersionError]
    leaves += [ZkNotEmptyError, ZkNoAuthError]
    for error in leaves:
        assert [other for other in leaves if issubclass(error, other)] == [error]


def test_a_transaction_error_names_the_failed_step_and_keeps_its_cause() -> None:
    cause = ZkBadVersionError("bad version")
    error = ZkTransactionError(2, cause)
    assert error.failed == 2 and error.cause is cause
    assert str(error) == "transaction step 2 failed: ZkBadVersionError: bad version"
