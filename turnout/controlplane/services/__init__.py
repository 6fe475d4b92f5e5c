"""Use cases of the control plane. Routers stay thin and call these.

Each function takes the Session (the caller's transaction) and, when it needs ZooKeeper,
Kafka or metrics, the AppContext explicitly. Functions that change ZooKeeper own their
transaction boundary: the database row and the directive are written as one unit (DB
flush, ZooKeeper write, DB commit; a ZooKeeper failure rolls the database back and
answers 503), see ``directive_writes``.
"""
