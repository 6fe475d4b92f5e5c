"""The Turnout agent: the library embedded in a user's consumer process."""
