"""Keeps the mirrored target topics' configs in step with their sources'.

Every ``interval_s`` a thread of its own asks ``TargetTopics`` to sync each target topic
the mirror has made ready so far (those of the partitions this agent copies): the
source's own allowed configs, minus the deny list, that the target lacks or has with
another value are set on it (``topic_shape.config_changes``); a target config the source
never set is left alone. Its states::

    idle ──start()──▶ running ──stop()──▶ stopped
    running: every interval, one pass over the ready topics; a topic whose sync fails
        (a cluster unreachable, a config the target refuses) is logged as a warning and
        tried again at the next pass; the others are synced regardless.

A mirror agent that copies no partition of a topic (a standby colour, an instance owning
nothing) syncs nothing of it: the instances that copy it do.
"""

from __future__ import annotations

import logging
import threading

from turnout.mirror.target_topics import TargetTopics

log = logging.getLogger(__name__)

#: ``stop`` waits this long for a pass in progress (admin calls time out by then).
STOP_TIMEOUT_S = 40.0


class ConfigSync:
    """The config-sync thread (see the module docstring)."""

    def __init__(self, topics: TargetTopics, interval_s: float) -> None:
        self._topics = topics
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mirror-config-sync", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(STOP_TIMEOUT_S)

    def sync_once(self) -> dict[str, dict[str, str]]:
        """One pass: each target topic's configs set, by target topic."""
        changed = {}
        for source, target in sorted(self._topics.ready().items()):
            try:
                changes = self._topics.sync_configs(source, target)
            except Exception as exc:  # one topic's failure must not end the thread
                log.warning("could not sync the configs of %s to %s: %s", source, target, exc)
                continue
            if changes:
                changed[target] = changes
        return changed

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            self.sync_once()
