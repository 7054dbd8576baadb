"""pytest as a created project (or the README's example project) runs it, from this dev venv.

A project's own venv holds motia-runtime and its extras, pytest and mypy (``.[test]``), not this
repository's test plugins; in this venv pytest would load them all into the project's run. Blocked
here: the plugins of the dev venv that a project's venv lacks (anyio's, which comes with
motia-runtime's starlette and httpx, stays). Closer to the project's own ``make test``, and each
run skips importing them (schemathesis and hypothesis most: collection 1.4 → 0.8 s of CPU).
"""

from __future__ import annotations

import sys

DEV_ONLY_PLUGINS = ("asyncio", "xdist", "xdist.looponfail", "timeout", "hypothesispytest", "schemathesis",
                    "randomly")
PROJECT_PYTEST = (sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                  *(arg for name in DEV_ONLY_PLUGINS for arg in ("-p", f"no:{name}")))
