"""What the gateway raises. Callers never see a kazoo exception.

ZkError
├── ZkUnavailableError   connection lost, session expired, request timed out:
│                        the outcome of the operation is unknown
├── ZkNoNodeError        the node (or its parent) does not exist
├── ZkNodeExistsError    create() of a node that exists
├── ZkBadVersionError    a compare-and-set lost: the node changed since it was read
├── ZkNotEmptyError      delete() of a node that has children
├── ZkNoAuthError        the session's identity may not do this (the node's ACL)
└── ZkAuthFailedError    the server refused the session's credentials (SASL): the
                         session is closed and is not reopened
"""

from __future__ import annotations


class ZkError(Exception):
    """Base of every ZooKeeper error the gateway raises."""


class ZkUnavailableError(ZkError):
    """ZooKeeper could not be reached or the session is gone; the outcome is unknown."""


class ZkNoNodeError(ZkError):
    """The node does not exist."""


class ZkNodeExistsError(ZkError):
    """The node already exists."""


class ZkBadVersionError(ZkError):
    """The expected version did not match: someone else wrote first."""


class ZkNotEmptyError(ZkError):
    """The node has children."""


class ZkNoAuthError(ZkError):
    """The node's ACL does not let this session's identity do that."""


class ZkAuthFailedError(ZkError):
    """ZooKeeper refused the credentials: the session is closed for good."""
