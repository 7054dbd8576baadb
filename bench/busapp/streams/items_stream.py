"""The bench's ``items`` stream: a small item, as a progress record (bench/bus.py, bench/bus_scenarios.py)."""

from pydantic import BaseModel

from motia_runtime import StreamConfig


class Item(BaseModel):
    n: int
    label: str


config = StreamConfig(name="items", schema=Item, public=True)
