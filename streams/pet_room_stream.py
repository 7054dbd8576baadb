"""The ``petRoom`` stream: the demo page's "who's watching this pet" list and its chat panel.

One group per pet (the pet's ``petCreation`` group id). Nothing is stored here: it exists for its
presence (each page that opens a pet joins with ``{"name": ...}``; everyone in the group gets
``presence.join`` / ``presence.leave`` and a joining page ``presence.sync``) and its client events
(``typing`` while someone writes, ``say`` for a chat line), which the server checks against the
schema below, rate-limits per connection and passes to the group's other pages.

Kept apart from ``petCreation`` so Motia's official clients there see exactly Motia's frames.
"""

from pydantic import BaseModel, Field

from motia_runtime import ClientEvents, Presence, StreamConfig


class ChatLine(BaseModel):
    name: str = Field(max_length=40)
    text: str = Field(max_length=500)


# null is a valid state: a page reading over Server-Sent Events joins without one.
VIEWER = {"type": ["object", "null"], "additionalProperties": False,
          "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 40}}}

CHAT = {"type": "object", "additionalProperties": False, "required": ["name"],
        "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 40},
                       "text": {"type": "string", "maxLength": 500}}}

config = StreamConfig(
    name="petRoom",
    schema=ChatLine,
    description="Who is watching each pet (presence) and the pet page's chat (typing and say client events)",
    public=True,
    presence=Presence(schema=VIEWER),
    client_events=ClientEvents(types=["typing", "say"], schema=CHAT, rate_per_s=5, burst=10),
)
