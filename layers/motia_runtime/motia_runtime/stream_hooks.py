"""A stream's join and leave hooks (Motia 1.0's ``onJoin`` / ``onLeave``), run the same way on
every host.

``on_join(subscription, auth_context, ctx)`` runs after ``can_access`` allowed a join and before
it is taken: returning ``False`` or ``{"unauthorized": True, "reason": "..."}`` refuses it (the
client gets ``STREAM_ACCESS_DENIED`` with the reason); anything else lets it through. Motia 1.0
lets a join through when the hook raises; here a hook that raises refuses the join (and the error
is logged): an access check that failed must not open the stream.

``on_leave(subscription, auth_context, ctx)`` runs once for each subscription that goes: a
``leave``, the socket's close, a rejoin that replaces the subscription, and on AWS ``$disconnect``,
410 cleanup and expiry (the connections table's change stream; see hosts/aws/triggers.py). Its
errors are logged; it cannot refuse anything.

``subscription`` is ``{"streamName", "groupId", "id", "subscriptionId"}``; ``ctx`` is a step
context (``state``, ``streams``, ``logger``, ``trace_id``) of a run of its own, so a hook's
writes reach clients and triggers like a step's. It cannot ``emit``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .deadline import deadline
from .log import StepLogger
from .protocol import Subscription
from .run_context import running
from .trace import new_trace_id

if TYPE_CHECKING:
    from .config import StreamConfig
    from .context import FlowContext
    from .project import Step
    from .runtime import Runtime


def _payload(sub: Subscription) -> dict[str, Any]:
    return {"streamName": sub.stream_name, "groupId": sub.group_id, "id": sub.id,
            "subscriptionId": sub.subscription_id}


@functools.lru_cache(maxsize=256)
def _hook_step(stream: str, kind: str, file: Path) -> Step:
    """The step a hook's runs are recorded as (built once: a join should not validate a config)."""
    from .noop_config import NoopConfig
    from .project import Step  # the project module imports config; kept out of import time

    return Step(NoopConfig(name=f"{stream}.{kind}"), None, file, {"type": kind, "index": 0})


def _context(runtime: Runtime, config: StreamConfig, kind: str) -> tuple[FlowContext, str]:
    trace_id = new_trace_id()
    step = _hook_step(config.name, kind, runtime.project.stream_files.get(config.name, Path(config.name)))
    return runtime.context(step, trace_id), trace_id


# How long a hook may run: a step handler's default (infrastructure.handler.timeout). A hook that
# never returns held its connection (no later frame of it was read) and, at shutdown or a reload,
# the whole server, which waits for its connections' tasks; past this it fails: a join is refused
# (as when the hook raises), a leave is logged.
HOOK_TIMEOUT_S = 30.0


async def _call(hook: Callable[..., Any], sub: Subscription, auth_context: Any, ctx: FlowContext,
                trace_id: str) -> Any:
    with running(trace_id):
        result = hook(_payload(sub), auth_context, ctx)
        if inspect.isawaitable(result):
            try:
                async with deadline(HOOK_TIMEOUT_S):
                    result = await result
            except TimeoutError:
                raise TimeoutError(f"the hook ran past {HOOK_TIMEOUT_S:g} s") from None
    return result


async def run_join_hook(runtime: Runtime, config: StreamConfig, sub: Subscription, auth_context: Any,
                        log: StepLogger) -> str | None:
    """Ask ``on_join``; the reason the join is refused, or None when it may go on."""
    if config.on_join is None:
        return None
    ctx, trace_id = _context(runtime, config, "on_join")
    try:
        result = await _call(config.on_join, sub, auth_context, ctx, trace_id)
    except Exception as exc:
        log.exception(f"on_join of stream {config.name!r} raised {type(exc).__name__}: {exc}; join refused")
        return "The stream's join check failed"
    if result is False:
        return "Refused by the stream's on_join"
    if isinstance(result, dict) and result.get("unauthorized"):
        return str(result.get("reason") or "Refused by the stream's on_join")
    return None


async def run_leave_hook(runtime: Runtime, config: StreamConfig, sub: Subscription, auth_context: Any,
                         log: StepLogger) -> None:
    """Run ``on_leave``; its failure is logged, never raised (the subscription is gone either way)."""
    if config.on_leave is None:
        return
    ctx, trace_id = _context(runtime, config, "on_leave")
    try:
        await _call(config.on_leave, sub, auth_context, ctx, trace_id)
    except Exception as exc:
        log.exception(f"on_leave of stream {config.name!r} raised {type(exc).__name__}: {exc}",
                      {"subscriptionId": sub.subscription_id})


async def subscription_gone(runtime: Runtime, config: StreamConfig, sub: Subscription, auth_context: Any,
                            log: StepLogger) -> None:
    """Everything that follows a subscription's end, on every host: its presence goes (a
    ``presence.leave`` to the group), then ``on_leave`` runs."""
    if config.presence is not None:
        from . import presence

        try:
            await presence.left(runtime, config, sub)
        except Exception as exc:
            log.exception(f"presence of stream {config.name!r}: the leave failed: {type(exc).__name__}: {exc}")
    await run_leave_hook(runtime, config, sub, auth_context, log)


def tracks_leaves(config: StreamConfig) -> bool:
    """Whether anything must run when a subscription of this stream ends."""
    return config.on_leave is not None or config.presence is not None
