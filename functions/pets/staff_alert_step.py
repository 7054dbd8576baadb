"""A stream trigger: alert the staff when a pet's health check finds it ill.

The lifecycle orchestrator writes one ``petCreation`` item per status a pet reaches; when the
``ill`` item is created, this step writes an alert to the private ``staffAlerts`` stream. The
condition runs first, so changes of other items never reach the handler.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from functions.pets import events as ev

if TYPE_CHECKING:
    from motia_types import Context, StaffAlertOnIllnessChange, StaffAlertOnIllnessContext


def is_ill(change: dict[str, Any], ctx: Context) -> bool:
    return bool(change["id"] == "ill")


config = {
    "type": "stream",
    "name": "StaffAlertOnIllness",
    "description": "Alerts the staff (staffAlerts stream) when a pet's health check finds it ill",
    "streamName": "petCreation",
    "events": ["create"],
    "condition": is_ill,
    "flows": [ev.FLOW],
}


async def handler(change: StaffAlertOnIllnessChange, ctx: StaffAlertOnIllnessContext) -> None:
    item = change["new_value"]
    pet_id = item.get("petId") or "unknown"
    ctx.logger.warn("🚑 Staff alert: health check failed", {"petId": pet_id})
    await ctx.streams.staffAlerts.set("staff", f"{pet_id}:health_check_failed", {
        "petId": pet_id, "kind": "health_check_failed", "streamGroupId": change["groupId"],
        "message": f"{item.get('message', 'A pet is ill')} Please see the vet's notes.",
    })
