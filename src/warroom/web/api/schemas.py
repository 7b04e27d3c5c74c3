"""Response models every area's API shares (one name each in /api/v1/openapi.json)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, SerializerFunctionWrapHandler, model_serializer


class HintOut(BaseModel):
    """A next step: `action` (see core/errors.ACTIONS), in words, for which incident."""

    action: str = Field(examples=["assign_role"])
    text: str = Field(examples=["name a commander"])
    incident: str | None = Field(None, examples=["INC-7"])
    params: dict[str, str] | None = Field(None, examples=[{"role": "commander"}])

    @model_serializer(mode="wrap")
    def _without_empty(self, handler: SerializerFunctionWrapHandler) -> Any:
        # `Hint.to_dict` leaves out an empty incident and params; so does the API.
        return {k: v for k, v in handler(self).items() if v is not None}


class EventOut(BaseModel):
    """One timeline event; `hash` chains it to the one before."""

    incident: str
    seq: int
    at: str
    actor: str
    kind: str = Field(examples=["stage.changed"])
    data: dict[str, Any]
    hash: str
