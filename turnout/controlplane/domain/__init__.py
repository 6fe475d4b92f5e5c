"""The control plane's pure logic: no database, no ZooKeeper, no Kafka.

``switch_machine`` (the states of a switch and what an observation does to them),
``desired_state`` (what a deployment's directive must say) and ``lag_status`` (the
Burrow-style consumer status). Everything here is a function of its arguments, so it is
unit tested without services.
"""
