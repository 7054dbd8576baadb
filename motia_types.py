"""Typed handlers of this project: written by `motia types` from functions/ and streams/.

Do not edit: `motia types` rewrites it (`motia dev` and `motia check` too, once it exists).
Annotate a handler with its step's names, e.g.

    from motia_types import CreatePetContext, CreatePetRequest, CreatePetResponse

    async def handler(req: CreatePetRequest, ctx: CreatePetContext) -> CreatePetResponse: ...

and mypy or pyright report a stream, field or topic the project does not declare.
"""

# ruff: noqa
# fmt: off
from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal, Never, NotRequired, Protocol, TypeAlias, TypedDict

from motia_runtime.typed import StreamMarker, TypedContext, TypedStream


# -- stream openai -----------------------------------------------------------------------------------

class OpenAiMessage(TypedDict):
    message: str

OpenaiItem = TypedDict('OpenaiItem', {'message': 'str', 'id': 'str', '_createdAt': 'NotRequired[int]', '__motia': 'StreamMarker'})

OpenaiData: TypeAlias = 'OpenAiMessage'

OpenaiStream: TypeAlias = 'TypedStream[OpenaiData, OpenaiItem]'


# -- stream petCreation ------------------------------------------------------------------------------

class PetCreationUpdateIn(TypedDict):
    message: str
    stage: str
    progress: int
    petId: NotRequired[str | None]
    status: NotRequired[str | None]
    field: NotRequired[str | None]
    value: NotRequired[str | list[str] | None]

PetCreationItem = TypedDict('PetCreationItem', {'message': 'str', 'stage': 'str', 'progress': 'int', 'petId': 'str | None', 'status': 'str | None', 'field': 'str | None', 'value': 'str | list[str] | None', 'id': 'str', '_createdAt': 'NotRequired[int]', '__motia': 'StreamMarker'})

PetCreationData: TypeAlias = 'PetCreationUpdateIn'

PetCreationStream: TypeAlias = 'TypedStream[PetCreationData, PetCreationItem]'


# -- stream petRoom ----------------------------------------------------------------------------------

class ChatLine(TypedDict):
    name: str
    text: str

PetRoomItem = TypedDict('PetRoomItem', {'name': 'str', 'text': 'str', 'id': 'str', '_createdAt': 'NotRequired[int]', '__motia': 'StreamMarker'})

PetRoomData: TypeAlias = 'ChatLine'

PetRoomStream: TypeAlias = 'TypedStream[PetRoomData, PetRoomItem]'


# -- stream petWatchers ------------------------------------------------------------------------------

class WatchersIn(TypedDict):
    n: NotRequired[int]

PetWatchersItem = TypedDict('PetWatchersItem', {'n': 'int', 'id': 'str', '_createdAt': 'NotRequired[int]', '__motia': 'StreamMarker'})

PetWatchersData: TypeAlias = 'WatchersIn'

PetWatchersStream: TypeAlias = 'TypedStream[PetWatchersData, PetWatchersItem]'


# -- stream shelterStats -----------------------------------------------------------------------------

class ShelterCountsIn(TypedDict):
    byStatus: NotRequired[dict[str, int]]
    total: NotRequired[int]

ShelterStatsItem = TypedDict('ShelterStatsItem', {'byStatus': 'dict[str, int]', 'total': 'int', 'id': 'str', '_createdAt': 'NotRequired[int]', '__motia': 'StreamMarker'})

ShelterStatsData: TypeAlias = 'ShelterCountsIn'

ShelterStatsStream: TypeAlias = 'TypedStream[ShelterStatsData, ShelterStatsItem]'


# -- stream staffAlerts ------------------------------------------------------------------------------

class StaffAlert(TypedDict):
    petId: str
    kind: str
    message: str
    streamGroupId: str

StaffAlertsItem = TypedDict('StaffAlertsItem', {'petId': 'str', 'kind': 'str', 'message': 'str', 'streamGroupId': 'str', 'id': 'str', '_createdAt': 'NotRequired[int]', '__motia': 'StreamMarker'})

StaffAlertsData: TypeAlias = 'StaffAlert'

StaffAlertsStream: TypeAlias = 'TypedStream[StaffAlertsData, StaffAlertsItem]'


# -- ctx.streams: one attribute per stream -----------------------------------------------------------

class Streams(Protocol):
    """``ctx.streams``."""

    @property
    def openai(self) -> OpenaiStream: ...
    @property
    def petCreation(self) -> PetCreationStream: ...
    @property
    def petRoom(self) -> PetRoomStream: ...
    @property
    def petWatchers(self) -> PetWatchersStream: ...
    @property
    def shelterStats(self) -> ShelterStatsStream: ...
    @property
    def staffAlerts(self) -> StaffAlertsStream: ...

Context: TypeAlias = 'TypedContext[Any, Streams]'  # any step's ctx: for helpers several steps call


# -- step AdoptionPosting (event on adoption.ready, functions/pets/adoption_posting_step.py) ---------

class PetRef(TypedDict):
    """The part every pet event carries; the rest depends on the topic."""
    petId: str

AdoptionPostingEmit: TypeAlias = 'Never'

AdoptionPostingInput: TypeAlias = 'PetRef'

AdoptionPostingContext: TypeAlias = 'TypedContext[AdoptionPostingEmit, Streams]'

AdoptionPostingHandler: TypeAlias = 'Callable[[AdoptionPostingInput, AdoptionPostingContext], Awaitable[None]]'


# -- step AdoptionReviewAgent (api POST /pets/:id/adoption-review, functions/pets/adoption_review_agent_step.py) ---

class LifecycleInputIn(TypedDict):
    """What the orchestrator receives on any of its topics: ``event`` names the rule set to use."""
    petId: str
    event: Literal['feeding.reminder.completed', 'status.update.requested', 'health.treatment_required', 'health.no_treatment_needed', 'adoption.needs_data', 'adoption.ready']
    requestedStatus: NotRequired[Literal['new', 'in_quarantine', 'healthy', 'available', 'pending', 'adopted', 'ill', 'under_treatment', 'recovered', 'deleted'] | None]

AdoptionReviewAgentEmitAdoptionNeedsData = TypedDict('AdoptionReviewAgentEmitAdoptionNeedsData', {'topic': "Literal['adoption.needs_data']", 'data': 'LifecycleInputIn', 'messageGroupId': 'str'})

AdoptionReviewAgentEmitAdoptionReady = TypedDict('AdoptionReviewAgentEmitAdoptionReady', {'topic': "Literal['adoption.ready']", 'data': 'Any', 'messageGroupId': 'str'})

class AdoptionReviewAgentPathParams(TypedDict):
    id: str

class AdoptionReviewAgentRequest(TypedDict):
    pathParams: AdoptionReviewAgentPathParams
    queryParams: dict[str, str | list[str]]
    body: Any
    headers: dict[str, str]
    rawBody: str

class AdoptionReviewAgentResponseAny(TypedDict):
    status: int
    body: NotRequired[Any]
    headers: NotRequired[Mapping[str, str]]

AdoptionReviewAgentEmit: TypeAlias = 'AdoptionReviewAgentEmitAdoptionNeedsData | AdoptionReviewAgentEmitAdoptionReady'

AdoptionReviewAgentBody: TypeAlias = Any

AdoptionReviewAgentResponse: TypeAlias = 'AdoptionReviewAgentResponseAny'

AdoptionReviewAgentContext: TypeAlias = 'TypedContext[AdoptionReviewAgentEmit, Streams]'

AdoptionReviewAgentHandler: TypeAlias = 'Callable[[AdoptionReviewAgentRequest, AdoptionReviewAgentContext], Awaitable[AdoptionReviewAgentResponse]]'


# -- step AiProfileEnrichment (event on pet.created, functions/pets/ai_profile_enrichment_step.py) ---

AiProfileEnrichmentEmit: TypeAlias = 'Never'

AiProfileEnrichmentInput: TypeAlias = 'PetRef'

AiProfileEnrichmentContext: TypeAlias = 'TypedContext[AiProfileEnrichmentEmit, Streams]'

AiProfileEnrichmentHandler: TypeAlias = 'Callable[[AiProfileEnrichmentInput, AiProfileEnrichmentContext], Awaitable[None]]'


# -- step CallOpenAi (event on openai-prompt, functions/openai/call_openai_step.py) ------------------

class Prompt(TypedDict):
    message: str

CallOpenAiEmit: TypeAlias = 'Never'

CallOpenAiInput: TypeAlias = 'Prompt'

CallOpenAiContext: TypeAlias = 'TypedContext[CallOpenAiEmit, Streams]'

CallOpenAiHandler: TypeAlias = 'Callable[[CallOpenAiInput, CallOpenAiContext], Awaitable[None]]'


# -- step CreatePet (api POST /pets, functions/pets/create_pet_step.py) ------------------------------

class FeedingJobInput(TypedDict):
    """The feeding reminder job's two triggers: the creation, then the orchestrator's quarantine."""
    petId: str
    event: Literal['feeding.reminder.enqueued', 'pet.quarantined']

CreatePetEmitFeedingReminderEnqueued = TypedDict('CreatePetEmitFeedingReminderEnqueued', {'topic': "Literal['feeding.reminder.enqueued']", 'data': 'FeedingJobInput', 'messageGroupId': 'NotRequired[str]'})

CreatePetEmitPetCreated = TypedDict('CreatePetEmitPetCreated', {'topic': "Literal['pet.created']", 'data': 'PetRef', 'messageGroupId': 'NotRequired[str]'})

class NewPet(TypedDict):
    """``POST /pets`` body. Unknown fields are refused so a typo (``agemonths``) is reported, not lost."""
    name: str
    species: Literal['dog', 'cat', 'bird', 'other']
    ageMonths: int
    weightKg: float | None
    symptoms: list[str]

class CreatePetPathParams(TypedDict):
    pass

class CreatePetRequest(TypedDict):
    pathParams: CreatePetPathParams
    queryParams: dict[str, str | list[str]]
    body: NewPet
    headers: dict[str, str]
    rawBody: str

class CreatedItem(TypedDict):
    """The response: the stream item as ``set`` returns it (with ``id``, ``_createdAt``, ``__motia``)."""
    message: str
    stage: str
    progress: int
    petId: str | None
    status: str | None
    field: str | None
    value: str | list[str] | None
    id: str

class CreatePetResponse201(TypedDict):
    status: Literal[201]
    body: CreatedItem
    headers: NotRequired[Mapping[str, str]]

CreatePetEmit: TypeAlias = 'CreatePetEmitFeedingReminderEnqueued | CreatePetEmitPetCreated'

CreatePetBody: TypeAlias = 'NewPet'

CreatePetResponse: TypeAlias = 'CreatePetResponse201'

CreatePetContext: TypeAlias = 'TypedContext[CreatePetEmit, Streams]'

CreatePetHandler: TypeAlias = 'Callable[[CreatePetRequest, CreatePetContext], Awaitable[CreatePetResponse]]'


# -- step DeletePet (api DELETE /pets/:id, functions/pets/delete_pet_step.py) ------------------------

class DeletePetPathParams(TypedDict):
    id: str

class DeletePetRequest(TypedDict):
    pathParams: DeletePetPathParams
    queryParams: dict[str, str | list[str]]
    body: Any
    headers: dict[str, str]
    rawBody: str

class DeletePetResponseAny(TypedDict):
    status: int
    body: NotRequired[Any]
    headers: NotRequired[Mapping[str, str]]

DeletePetEmit: TypeAlias = 'Never'

DeletePetBody: TypeAlias = Any

DeletePetResponse: TypeAlias = 'DeletePetResponseAny'

DeletePetContext: TypeAlias = 'TypedContext[DeletePetEmit, Streams]'

DeletePetHandler: TypeAlias = 'Callable[[DeletePetRequest, DeletePetContext], Awaitable[DeletePetResponse]]'


# -- step DeletionReaper (cron 0 2 * * *, functions/pets/deletion_reaper_step.py) --------------------

DeletionReaperEmit: TypeAlias = 'Never'

DeletionReaperContext: TypeAlias = 'TypedContext[DeletionReaperEmit, Streams]'

DeletionReaperHandler: TypeAlias = 'Callable[[DeletionReaperContext], Awaitable[None]]'


# -- step GetPet (api GET /pets/:id, functions/pets/get_pet_step.py) ---------------------------------

class GetPetPathParams(TypedDict):
    id: str

class GetPetRequest(TypedDict):
    pathParams: GetPetPathParams
    queryParams: dict[str, str | list[str]]
    body: Any
    headers: dict[str, str]
    rawBody: str

class GetPetResponseAny(TypedDict):
    status: int
    body: NotRequired[Any]
    headers: NotRequired[Mapping[str, str]]

GetPetEmit: TypeAlias = 'Never'

GetPetBody: TypeAlias = Any

GetPetResponse: TypeAlias = 'GetPetResponseAny'

GetPetContext: TypeAlias = 'TypedContext[GetPetEmit, Streams]'

GetPetHandler: TypeAlias = 'Callable[[GetPetRequest, GetPetContext], Awaitable[GetPetResponse]]'


# -- step HealthReviewAgent (api POST /pets/:id/health-review, functions/pets/health_review_agent_step.py) ---

HealthReviewAgentEmitHealthNoTreatmentNeeded = TypedDict('HealthReviewAgentEmitHealthNoTreatmentNeeded', {'topic': "Literal['health.no_treatment_needed']", 'data': 'LifecycleInputIn', 'messageGroupId': 'str'})

HealthReviewAgentEmitHealthTreatmentRequired = TypedDict('HealthReviewAgentEmitHealthTreatmentRequired', {'topic': "Literal['health.treatment_required']", 'data': 'LifecycleInputIn', 'messageGroupId': 'str'})

class HealthReviewAgentPathParams(TypedDict):
    id: str

class HealthReviewAgentRequest(TypedDict):
    pathParams: HealthReviewAgentPathParams
    queryParams: dict[str, str | list[str]]
    body: Any
    headers: dict[str, str]
    rawBody: str

class HealthReviewAgentResponseAny(TypedDict):
    status: int
    body: NotRequired[Any]
    headers: NotRequired[Mapping[str, str]]

HealthReviewAgentEmit: TypeAlias = 'HealthReviewAgentEmitHealthNoTreatmentNeeded | HealthReviewAgentEmitHealthTreatmentRequired'

HealthReviewAgentBody: TypeAlias = Any

HealthReviewAgentResponse: TypeAlias = 'HealthReviewAgentResponseAny'

HealthReviewAgentContext: TypeAlias = 'TypedContext[HealthReviewAgentEmit, Streams]'

HealthReviewAgentHandler: TypeAlias = 'Callable[[HealthReviewAgentRequest, HealthReviewAgentContext], Awaitable[HealthReviewAgentResponse]]'


# -- step ListPets (api GET /pets, functions/pets/list_pets_step.py) ---------------------------------

class ListPetsPathParams(TypedDict):
    pass

class ListPetsRequest(TypedDict):
    pathParams: ListPetsPathParams
    queryParams: dict[str, str | list[str]]
    body: Any
    headers: dict[str, str]
    rawBody: str

class PetList(TypedDict):
    pets: list[dict[str, Any]]
    nextCursor: str | None

class ListPetsResponse200(TypedDict):
    status: Literal[200]
    body: PetList
    headers: NotRequired[Mapping[str, str]]

class QueryErrors(TypedDict):
    error: str
    errors: list[dict[str, str]]

class ListPetsResponse400(TypedDict):
    status: Literal[400]
    body: QueryErrors
    headers: NotRequired[Mapping[str, str]]

ListPetsEmit: TypeAlias = 'Never'

ListPetsBody: TypeAlias = Any

ListPetsResponse: TypeAlias = 'ListPetsResponse200 | ListPetsResponse400'

ListPetsContext: TypeAlias = 'TypedContext[ListPetsEmit, Streams]'

ListPetsHandler: TypeAlias = 'Callable[[ListPetsRequest, ListPetsContext], Awaitable[ListPetsResponse]]'


# -- step OpenAiApi (api POST /open-ai, functions/openai/openai_api_step.py) -------------------------

OpenAiApiEmitOpenaiPrompt = TypedDict('OpenAiApiEmitOpenaiPrompt', {'topic': "Literal['openai-prompt']", 'data': 'Prompt', 'messageGroupId': 'NotRequired[str]'})

class PromptBody(TypedDict):
    message: str

class OpenAiApiPathParams(TypedDict):
    pass

class OpenAiApiRequest(TypedDict):
    pathParams: OpenAiApiPathParams
    queryParams: dict[str, str | list[str]]
    body: PromptBody
    headers: dict[str, str]
    rawBody: str

class MessageItem(TypedDict):
    message: str

class OpenAiApiResponse200(TypedDict):
    status: Literal[200]
    body: MessageItem
    headers: NotRequired[Mapping[str, str]]

OpenAiApiEmit: TypeAlias = 'OpenAiApiEmitOpenaiPrompt'

OpenAiApiBody: TypeAlias = 'PromptBody'

OpenAiApiResponse: TypeAlias = 'OpenAiApiResponse200'

OpenAiApiContext: TypeAlias = 'TypedContext[OpenAiApiEmit, Streams]'

OpenAiApiHandler: TypeAlias = 'Callable[[OpenAiApiRequest, OpenAiApiContext], Awaitable[OpenAiApiResponse]]'


# -- step PetLifecycleOrchestrator (event on feeding.reminder.completed, pet.status.update.requested, health.treatment_required, health.no_treatment_needed, adoption.needs_data, adoption.ready, functions/pets/pet_lifecycle_orchestrator_step.py) ---

PetLifecycleOrchestratorEmitAdoptionReady = TypedDict('PetLifecycleOrchestratorEmitAdoptionReady', {'topic': "Literal['adoption.ready']", 'data': 'Any', 'messageGroupId': 'str'})

PetLifecycleOrchestratorEmitPetQuarantined = TypedDict('PetLifecycleOrchestratorEmitPetQuarantined', {'topic': "Literal['pet.quarantined']", 'data': 'FeedingJobInput', 'messageGroupId': 'NotRequired[str]'})

PetLifecycleOrchestratorEmitTreatmentCompleted = TypedDict('PetLifecycleOrchestratorEmitTreatmentCompleted', {'topic': "Literal['treatment.completed']", 'data': 'PetRef', 'messageGroupId': 'NotRequired[str]'})

PetLifecycleOrchestratorEmitTreatmentRequired = TypedDict('PetLifecycleOrchestratorEmitTreatmentRequired', {'topic': "Literal['treatment.required']", 'data': 'PetRef', 'messageGroupId': 'NotRequired[str]'})

class LifecycleInput(TypedDict):
    """What the orchestrator receives on any of its topics: ``event`` names the rule set to use."""
    petId: str
    event: Literal['feeding.reminder.completed', 'status.update.requested', 'health.treatment_required', 'health.no_treatment_needed', 'adoption.needs_data', 'adoption.ready']
    requestedStatus: Literal['new', 'in_quarantine', 'healthy', 'available', 'pending', 'adopted', 'ill', 'under_treatment', 'recovered', 'deleted'] | None

PetLifecycleOrchestratorEmit: TypeAlias = 'PetLifecycleOrchestratorEmitAdoptionReady | PetLifecycleOrchestratorEmitPetQuarantined | PetLifecycleOrchestratorEmitTreatmentCompleted | PetLifecycleOrchestratorEmitTreatmentRequired'

PetLifecycleOrchestratorInput: TypeAlias = 'LifecycleInput'

PetLifecycleOrchestratorContext: TypeAlias = 'TypedContext[PetLifecycleOrchestratorEmit, Streams]'

PetLifecycleOrchestratorHandler: TypeAlias = 'Callable[[PetLifecycleOrchestratorInput, PetLifecycleOrchestratorContext], Awaitable[None]]'


# -- step RecoveryMonitor (event on treatment.started, treatment.completed, functions/pets/recovery_monitor_step.py) ---

RecoveryMonitorEmit: TypeAlias = 'Never'

RecoveryMonitorInput: TypeAlias = 'PetRef'

RecoveryMonitorContext: TypeAlias = 'TypedContext[RecoveryMonitorEmit, Streams]'

RecoveryMonitorHandler: TypeAlias = 'Callable[[RecoveryMonitorInput, RecoveryMonitorContext], Awaitable[None]]'


# -- step SetNextFeedingReminder (event on feeding.reminder.enqueued, pet.quarantined, functions/pets/set_next_feeding_reminder_step.py) ---

SetNextFeedingReminderEmitFeedingReminderCompleted = TypedDict('SetNextFeedingReminderEmitFeedingReminderCompleted', {'topic': "Literal['feeding.reminder.completed']", 'data': 'LifecycleInputIn', 'messageGroupId': 'str'})

SetNextFeedingReminderEmitPetStatusUpdateRequested = TypedDict('SetNextFeedingReminderEmitPetStatusUpdateRequested', {'topic': "Literal['pet.status.update.requested']", 'data': 'LifecycleInputIn', 'messageGroupId': 'str'})

SetNextFeedingReminderEmit: TypeAlias = 'SetNextFeedingReminderEmitFeedingReminderCompleted | SetNextFeedingReminderEmitPetStatusUpdateRequested'

SetNextFeedingReminderInput: TypeAlias = 'FeedingJobInput'

SetNextFeedingReminderContext: TypeAlias = 'TypedContext[SetNextFeedingReminderEmit, Streams]'

SetNextFeedingReminderHandler: TypeAlias = 'Callable[[SetNextFeedingReminderInput, SetNextFeedingReminderContext], Awaitable[None]]'


# -- step ShelterStats (state trigger, functions/pets/shelter_stats_step.py) -------------------------

ShelterStatsEmit: TypeAlias = 'Never'

ShelterStatsChange: TypeAlias = 'dict[str, Any]'

ShelterStatsContext: TypeAlias = 'TypedContext[ShelterStatsEmit, Streams]'

ShelterStatsHandler: TypeAlias = 'Callable[[ShelterStatsChange, ShelterStatsContext], Awaitable[None]]'


# -- step StaffAlertOnIllness (stream trigger on petCreation, functions/pets/staff_alert_step.py) ----

StaffAlertOnIllnessEmit: TypeAlias = 'Never'

StaffAlertOnIllnessChange: TypeAlias = 'dict[str, Any]'

StaffAlertOnIllnessContext: TypeAlias = 'TypedContext[StaffAlertOnIllnessEmit, Streams]'

StaffAlertOnIllnessHandler: TypeAlias = 'Callable[[StaffAlertOnIllnessChange, StaffAlertOnIllnessContext], Awaitable[None]]'


# -- step TreatmentScheduler (event on treatment.required, functions/pets/treatment_scheduler_step.py) ---

TreatmentSchedulerEmit: TypeAlias = 'Never'

TreatmentSchedulerInput: TypeAlias = 'PetRef'

TreatmentSchedulerContext: TypeAlias = 'TypedContext[TreatmentSchedulerEmit, Streams]'

TreatmentSchedulerHandler: TypeAlias = 'Callable[[TreatmentSchedulerInput, TreatmentSchedulerContext], Awaitable[None]]'


# -- step UpdatePet (api PUT /pets/:id, functions/pets/update_pet_step.py) ---------------------------

UpdatePetEmitPetStatusUpdateRequested = TypedDict('UpdatePetEmitPetStatusUpdateRequested', {'topic': "Literal['pet.status.update.requested']", 'data': 'LifecycleInputIn', 'messageGroupId': 'str'})

class PetPatch(TypedDict):
    """``PUT /pets/:id`` body: every field optional; ``status`` goes through the orchestrator."""
    name: str | None
    species: Literal['dog', 'cat', 'bird', 'other'] | None
    ageMonths: int | None
    weightKg: float | None
    notes: str | None
    nextFeedingAt: int | None
    status: Literal['new', 'in_quarantine', 'healthy', 'available', 'pending', 'adopted', 'ill', 'under_treatment', 'recovered', 'deleted'] | None

class UpdatePetPathParams(TypedDict):
    id: str

class UpdatePetRequest(TypedDict):
    pathParams: UpdatePetPathParams
    queryParams: dict[str, str | list[str]]
    body: PetPatch
    headers: dict[str, str]
    rawBody: str

class UpdatePetResponseAny(TypedDict):
    status: int
    body: NotRequired[Any]
    headers: NotRequired[Mapping[str, str]]

UpdatePetEmit: TypeAlias = 'UpdatePetEmitPetStatusUpdateRequested'

UpdatePetBody: TypeAlias = 'PetPatch'

UpdatePetResponse: TypeAlias = 'UpdatePetResponseAny'

UpdatePetContext: TypeAlias = 'TypedContext[UpdatePetEmit, Streams]'

UpdatePetHandler: TypeAlias = 'Callable[[UpdatePetRequest, UpdatePetContext], Awaitable[UpdatePetResponse]]'
