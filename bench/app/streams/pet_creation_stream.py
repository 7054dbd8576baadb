"""The peer's ``petCreation`` stream (shared/peers/motia-0.17/steps/pet-creation.stream.ts)."""

# ruff: noqa: N815 - wire names, as in the peer

from pydantic import BaseModel

from motia_runtime import StreamConfig


class PetCreation(BaseModel):
    message: str
    stage: str
    progress: float
    # benchmark extras: sender wall-clock ms (sub-ms precision) and sequence number
    sentAt: float | None = None
    seq: int | None = None


config = StreamConfig(name="petCreation", schema=PetCreation, public=True)
