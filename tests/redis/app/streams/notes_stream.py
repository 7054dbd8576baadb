from motia_runtime import StreamConfig

config = StreamConfig(name="notes", schema={"type": "object"}, public=True)  # anonymous test clients may join
