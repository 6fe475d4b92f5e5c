"""A binding's topic pattern: more topics than its list, found in the cluster's metadata.

A pattern is a Python regular expression matched against a WHOLE topic name
(``re.fullmatch``: ``orders\\..*`` takes ``orders.eu`` and not ``old.orders.eu``). Kafka's
internal topics (``__consumer_offsets``, ``__transaction_state``: the ``__`` prefix) never
match, whatever the pattern, so that ``.*`` means "every topic of the application's".
Agents resolve a pattern against the source cluster's metadata each time they read
partition counts (``Binding.resolved``). Pure.
"""

from __future__ import annotations

import re
from functools import lru_cache

#: The longest pattern accepted: a pattern is for a family of names, not a list of them.
MAX_TOPIC_PATTERN_CHARS = 1000
#: Kafka's own topics start with this; a pattern never takes them.
INTERNAL_TOPIC_PREFIX = "__"


def validate_topic_pattern(pattern: str) -> str:
    """``pattern`` if it is a regular expression this module accepts; else ValueError
    saying why."""
    if not pattern:
        raise ValueError("a topic pattern must not be empty")
    if len(pattern) > MAX_TOPIC_PATTERN_CHARS:
        raise ValueError(f"a topic pattern has at most {MAX_TOPIC_PATTERN_CHARS} characters")
    try:
        _compiled(pattern)
    except re.error as exc:
        raise ValueError(f"{pattern!r} is not a regular expression: {exc}") from None
    return pattern


def topic_matches(pattern: str, topic: str) -> bool:
    """Whether ``pattern`` (already validated) takes ``topic`` (see the module)."""
    return not topic.startswith(INTERNAL_TOPIC_PREFIX) and bool(_compiled(pattern).fullmatch(topic))


@lru_cache(maxsize=64)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)
