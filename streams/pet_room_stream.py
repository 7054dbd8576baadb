"""The ``petRoom`` stream: the demo page's "who's watching this pet" list and its chat panel.

One group per pet (the pet's ``petCreation`` group id). Nothing is stored here: it exists for its
presence (each page that opens a pet joins with ``{"name": ...}``; everyone in the group gets
``presence.join`` / ``presence.leave`` and a joining page ``presence.sync``) and its client events
(``typing`` while someone writes, ``say`` for a chat line), which the server checks against the
schema below, rate-limits per connection and passes to the group's other pages.

Kept apart from ``petCreation`` so Motia's official clients there see exactly Motia's frames.
"""

from pydantic import BaseModel, ConfigDict, Field, RootModel

from motia_runtime import ClientEvents, Presence, StreamConfig


class ChatLine(BaseModel):
    name: str = Field(max_length=40)
    text: str = Field(max_length=500)


class Who(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=40)


class Viewer(RootModel[Who | None]):
    """A member's presence state; null too: a page reading over Server-Sent Events joins without one."""


class Chat(BaseModel):
    """A ``typing`` event (``name`` only) or a ``say`` event (``name`` and ``text``)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=40)
    text: str | None = Field(None, max_length=500)

config = StreamConfig(
    name="petRoom",
    schema=ChatLine,
    description="Who is watching each pet (presence) and the pet page's chat (typing and say client events)",
    public=True,
    presence=Presence(schema=Viewer),
    client_events=ClientEvents(types=["typing", "say"], schema=Chat, rate_per_s=5, burst=10),
)
