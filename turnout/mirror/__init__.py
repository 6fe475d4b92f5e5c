"""The mirror: a Turnout deployment whose handler copies each source record to a target
cluster, partition for partition (docs/mirror.md).

- ``turnout.protocol.mirror``: the target topic of a source topic (prefix, identity or
  template), and the directive's mirror part, which the control plane writes;
- ``target_topics``: the target topic made like its source, or refused when it cannot hold
  the source's partitions;
- ``copier``: the agent's batch handler, which returns only once the target acknowledged;
- ``settings`` and ``cli``: ``turnout mirror run``.
"""
