"""Build-time tools: SAM template generation and the Lambda code bundle.

Nothing here is imported by the Lambda entry points; these modules run on a developer's machine
or in CI (``motia generate``, ``make build``).
"""
