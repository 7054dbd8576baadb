"""The ``openai`` stream of Motia's streams docs: one item per prompt, filled in as tokens arrive."""

from pydantic import BaseModel, Field

from motia_runtime import StreamConfig


class OpenAiMessage(BaseModel):
    message: str = Field(description="The reply so far")


# public: the example is watched from the Workbench and the demo page without a token.
config = StreamConfig(name="openai", schema=OpenAiMessage, public=True)
