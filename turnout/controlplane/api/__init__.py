"""The HTTP layer: thin routers over turnout.controlplane.services."""
