"""A real local ZooKeeper and Kafka (KRaft) without Docker.

The JVM services are fetched from Maven Central with Maven into a cache outside the
work tree, configured for loopback, started in the background and probed until they
really answer. `turnout dev up|down|status|logs` is the command-line face of it; the
test fixtures drive the same code.
"""

from turnout.devstack.errors import StackError
from turnout.devstack.settings import StackSettings
from turnout.devstack.stack import LocalStack, ServiceStatus, UpResult

__all__ = ["LocalStack", "ServiceStatus", "StackError", "StackSettings", "UpResult"]
