from pydantic import BaseModel

from motia_runtime import StreamConfig


class Job(BaseModel):
    status: str
    attempts: int = 0


def can_access(subscription, auth_context):
    return not subscription["groupId"].startswith("private") or auth_context is not None


config = StreamConfig(name="jobs", schema=Job, can_access=can_access, public=True)
