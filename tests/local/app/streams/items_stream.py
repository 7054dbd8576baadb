from pydantic import BaseModel

from motia_runtime import StreamConfig


class Item(BaseModel):
    label: str
    n: int = 0


config = StreamConfig(name="items", schema=Item, public=True)
