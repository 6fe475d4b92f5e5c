from __future__ import annotations

import time

from turnout.controlplane.auth_throttle import FailedAuthThrottle


def test_an_address_is_throttled_after_the_limit_and_recovers_after_the_window() -> None:
    throttle = FailedAuthThrottle(limit=3, window_s=1)
    for _ in range(3):
        assert throttle.retry_after_s("10.0.0.1") is None
        throttle.record_failure("10.0.0.1")
    assert throttle.retry_after_s("10.0.0.1") == 1
    assert throttle.retry_after_s("10.0.0.2") is None  # other addresses are not affected
    time.sleep(1.1)
    assert throttle.retry_after_s("10.0.0.1") is None
