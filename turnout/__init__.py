"""Turnout: blue/green consumer orchestration for Apache Kafka.

Packages:
    turnout.agent         the library embedded in a user's consumer process
    turnout.controlplane  the REST service that writes directives to ZooKeeper
    turnout.devstack      a real local ZooKeeper + Kafka, fetched with Maven, for demos and tests
    turnout.zk            the typed gateway over kazoo that both sides use
"""

__version__ = "0.1.0"
