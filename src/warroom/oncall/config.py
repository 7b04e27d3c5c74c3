"""The on-call settings: `[oncall]` of warroom.toml.

    [oncall]
    url = "https://warroom.example.com"   # where acknowledgement and calendar links point

`OncallConfig()` is the defaults alone (the desk on http://127.0.0.1:8000).
"""

from __future__ import annotations

from dataclasses import dataclass

from warroom.core.config import Settings
from warroom.core.errors import InvalidInput

DEFAULT_URL = "http://127.0.0.1:8000"


@dataclass(frozen=True)
class OncallConfig:
    url: str = DEFAULT_URL

    @classmethod
    def from_settings(cls, settings: Settings) -> OncallConfig:
        raw = settings.section("oncall")
        # [web] public_url is the desk's address for every link; [oncall] url overrides it
        web = settings.section("web").get("public_url")
        url = str(raw.get("url") or web or DEFAULT_URL).strip().rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise InvalidInput(
                f"[oncall] url {url!r} is the desk's address, like https://warroom.example.com",
                field="oncall.url",
            )
        return cls(url=url)
