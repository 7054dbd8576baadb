"""The ``greetings`` stream: one item per request, which clients watch fill in."""

from pydantic import BaseModel, Field

from motia_runtime import StreamConfig


class Greeting(BaseModel):
    message: str = Field(description="What a client shows")
    done: bool = Field(False, description="True once the greeting is complete")


# public: any client may watch it without a token (see docs/auth.md for private streams).
config = StreamConfig(name="greetings", schema=Greeting, public=True)
