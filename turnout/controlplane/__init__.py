"""The Turnout control plane: deployments, switches and assignments over REST."""
