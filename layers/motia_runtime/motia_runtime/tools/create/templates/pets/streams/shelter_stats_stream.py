"""``shelterStats``: live counts of the shelter's pets by status, kept by a state trigger.

One item, group ``shelter``, id ``counts``: ``{"byStatus": {"new": 2, "available": 5, ...},
"total": 7}``. Written only by ``functions/pets/shelter_stats_step.py``, which reacts to every
change of the ``pets`` state group, so a dashboard joined to it sees the counts move live.
"""

from pydantic import BaseModel, Field

from motia_runtime import StreamConfig


class ShelterCounts(BaseModel):
    byStatus: dict[str, int] = Field(default_factory=dict, description="Pets per lifecycle status")  # noqa: N815
    total: int = Field(0, description="Pets in the shelter")


config = StreamConfig(
    name="shelterStats",
    schema=ShelterCounts,
    description="How many pets the shelter holds, per status, updated as pets change",
    public=True,  # counts only; no pet data
)
