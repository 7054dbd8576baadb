"""A manual action drawn on the flow: a vet starts the scheduled treatment.

Nothing in the tutorial emits ``treatment.started``, yet the recovery monitor listens for it;
this noop names who does (a person, outside the app), so the topic is not left dangling.
"""

from functions.pets import events as ev

from motia_runtime import NoopConfig

config = NoopConfig(
    name="VetStartsTreatment",
    description="Manual: a veterinarian starts the treatment the scheduler planned",
    virtual_subscribes=[ev.TREATMENT_REQUIRED],
    virtual_emits=[ev.TREATMENT_STARTED],
    flows=[ev.FLOW],
)
