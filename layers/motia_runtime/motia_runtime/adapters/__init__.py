"""Implementations of the ports. Import them by path; ``import motia_runtime`` loads none."""
