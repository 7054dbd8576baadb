"""The ``motia`` command: thin argument parsing over the hosts and tools."""
