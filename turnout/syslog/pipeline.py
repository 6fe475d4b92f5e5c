"""From framed messages to records: parse (when needed), encode, route, count, deliver.

Parsing is skipped when nothing needs it (the raw and LogLine formats with a fixed topic
and key): then ``parsed`` and ``malformed`` are not counted, only ``received``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from prometheus_client import Counter

from turnout.syslog import metrics
from turnout.syslog.delivery import Delivery
from turnout.syslog.formats import counted_parse, json_values
from turnout.syslog.logline import LogLineEncoder
from turnout.syslog.routing import Router
from turnout.syslog.settings import SyslogSettings, ValueFormat


class Pipeline:
    def __init__(self, settings: SyslogSettings, delivery: Delivery) -> None:
        self.delivery = delivery
        self._format = settings.value_format
        self._router = Router(settings.topic, settings.key)
        self._logline = LogLineEncoder(settings.source, settings.tags, settings.log_type_id)
        self.parses = self._format is ValueFormat.JSON or self._router.needs_fields
        self._children: dict[str, tuple[Counter, Counter, Counter]] = {}

    def _counters(self, listener: str) -> tuple[Counter, Counter, Counter]:
        children = self._children.get(listener)
        if children is None:
            children = self._children[listener] = (
                metrics.RECEIVED.labels(listener),
                metrics.PARSED.labels(listener),
                metrics.MALFORMED.labels(listener),
            )
        return children

    def handle(self, listener: str, messages: Sequence[bytes], received_ms: int) -> None:
        """Deliver one read's messages (in order)."""
        if not messages:
            return
        received, parsed, malformed = self._counters(listener)
        received.inc(len(messages))
        fields = None
        if self.parses:
            fields, bad = counted_parse(messages)
            parsed.inc(len(messages) - bad)
            if bad:
                malformed.inc(bad)
        if self._format is ValueFormat.JSON:
            assert fields is not None
            values: Sequence[bytes] = json_values(messages, fields)
        elif self._format is ValueFormat.LOGLINE:
            values = self._logline.values(messages, received_ms, int(time.time() * 1000))
        else:
            values = messages
        router = self._router
        if router.needs_fields:
            assert fields is not None
            topics, keys = router.route(fields, listener)
            self.delivery.submit(listener, topics, keys, values)
        else:
            assert router.fixed_topic is not None
            self.delivery.submit(listener, router.fixed_topic, router.fixed_key, values)
