from motia_runtime import StreamConfig

config = StreamConfig(name="drafts", schema={"type": "object"}, public=True)  # the default storage
