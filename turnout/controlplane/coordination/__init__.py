"""The control plane's side of ZooKeeper.

``connections`` (supervised sessions that fail fast while ZooKeeper is down), ``acl``
(who may write what), ``directives`` (desired state → the directive, by compare-and-set),
``agent_reports`` (what agents registered and own), ``election`` (which replica leads).
No module here touches the database: the services decide what to write, these modules
write it.
"""
