"""Presence: who is joined to each group of a stream that enables it (``StreamConfig.presence``).

Members are kept in state (group ``__presence:<stream>:<group>``, key = subscription id, value
``{"key", "subscriptionId", "state", "joinedAt"}``), so every worker and every Lambda sees the
same list; changes reach the group's subscribers as custom events sent on the stream
(``presence.join``, ``presence.leave``), ordered with its other changes, and a client that joins
gets ``presence.sync`` with everyone present. A member goes when its subscription goes, by the
same path as ``on_leave`` (leave and close locally; on AWS the connections table's stream, so
``$disconnect``, 410 cleanup and expiry too).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pydantic_core

from .config import StreamConfig
from .errors import ValidationError
from .protocol import Subscription

if TYPE_CHECKING:
    from .runtime import Runtime

JOIN, LEAVE, SYNC = "presence.join", "presence.leave", "presence.sync"

# A member's state is small by design (a cursor, a page, a status): every member's is in every
# presence.sync, and a connection may hold a thousand subscriptions.
MAX_STATE_BYTES = 1024


def presence_group(stream: str, group: str) -> str:
    return f"__presence:{stream}:{group}"


def member_key(config: StreamConfig, sub: Subscription, auth_context: Any) -> str:
    """Who the member is: the auth context's identity, or (anonymous) its subscription id."""
    assert config.presence is not None
    if isinstance(auth_context, Mapping) and auth_context.get(config.presence.identity_key) is not None:
        return str(auth_context[config.presence.identity_key])
    return f"anonymous:{sub.subscription_id}"


def check_state(config: StreamConfig, state: Any) -> Any:
    """The client's presence state, validated (raises ValidationError)."""
    assert config.presence is not None
    schema = config.presence.schema_
    value = state if schema is None else schema.validate(state, what="presence state")
    size = len(pydantic_core.to_json(value))
    if size > MAX_STATE_BYTES:
        raise ValidationError("presence state is too large",
                              [{"field": "presence", "message": f"{size} bytes, over {MAX_STATE_BYTES}"}])
    return value


async def members(runtime: Runtime, stream: str, group: str) -> list[Any]:
    return await runtime.state_store.get_group(presence_group(stream, group))


async def joined(runtime: Runtime, config: StreamConfig, sub: Subscription, auth_context: Any, state: Any) -> None:
    member = {"key": member_key(config, sub, auth_context), "subscriptionId": sub.subscription_id,
              "state": state, "joinedAt": int(time.time() * 1000)}
    await runtime.state_store.set(presence_group(config.name, sub.group_id), sub.subscription_id, member)
    await runtime.streams[config.name].send({"groupId": sub.group_id}, {"type": JOIN, "data": member})


async def left(runtime: Runtime, config: StreamConfig, sub: Subscription) -> None:
    member = await runtime.state_store.delete(presence_group(config.name, sub.group_id), sub.subscription_id)
    if member is not None:
        await runtime.streams[config.name].send({"groupId": sub.group_id}, {"type": LEAVE, "data": member})
