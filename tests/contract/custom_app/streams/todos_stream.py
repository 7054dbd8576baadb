import os
from pathlib import Path

from custom_storage.json_file_store import JsonFileStreamStore

from motia_runtime import StreamConfig

config = StreamConfig(
    name="todos",
    schema={"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]},
    public=True,
    # storageType "custom": this stream's items live where the factory's store keeps them.
    base_config={"storageType": "custom", "factory": lambda: JsonFileStreamStore(Path(os.environ["TODOS_FILE"]))},
)
