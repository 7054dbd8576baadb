"""``staffAlerts``: what the shelter's staff must look at, written by stream triggers.

Group ``staff``, one item per alert (id ``<pet id>:<kind>``). Private: only a client with
credentials (a stream token minted for this stream, docs/auth.md) may join.
"""

from pydantic import BaseModel, Field

from motia_runtime import StreamConfig


class StaffAlert(BaseModel):
    petId: str = Field(description="The pet the alert is about")  # noqa: N815
    kind: str = Field(description="What happened, e.g. health_check_failed")
    message: str = Field(description="Text for the staff")
    streamGroupId: str = Field(description="The pet's petCreation group, to open its timeline")  # noqa: N815


config = StreamConfig(name="staffAlerts", schema=StaffAlert,
                      description="Alerts for shelter staff (e.g. a failed health check)")
