"""Hosts wire adapters into core: ``local`` (one process, ``motia dev``) and ``aws`` (Lambda)."""
