"""``petWatchers``: how many clients are watching each pet's journey right now.

Kept by the ``petCreation`` stream's join and leave hooks (streams/pet_creation_stream.py): group
``pets``, one item per watched ``petCreation`` group (the pet's ``streamGroupId``), ``{"n": 2}``.
"""

from pydantic import BaseModel, Field

from motia_runtime import StreamConfig


class Watchers(BaseModel):
    n: int = Field(0, description="Clients joined to the pet's petCreation group")


config = StreamConfig(name="petWatchers", schema=Watchers, public=True,
                      description="Live count of clients watching each pet (join/leave hooks of petCreation)")
