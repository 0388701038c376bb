"""Institution events: the bureau registers designated institutions at ingest."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from yibao.events.envelope import Payload

InstitutionKind = Literal["hospital", "pharmacy", "grassroots"]
InstitutionLevel = Literal["tertiary", "secondary", "primary", "retail", "village"]


class InstitutionRegistered(Payload):
    """An institution was registered or changed; carries its API key *hash* (never the key).

    Every service keeps a projection of these so it can authenticate the institution's own
    calls without asking ingest.
    """

    fixmedins_code: str
    name: str
    kind: InstitutionKind
    level: InstitutionLevel
    admdvs: str
    api_key_hash: str
    active: bool = True
    registered_at: datetime
