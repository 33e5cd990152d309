"""CitiPAC's own settings (environment prefix ``ADVOCACY_CITIPAC_``).

PAC mail goes out on its own sender, apart from the letters the toolkit sends for cities (DOMAIN.md §4.9 and §7:
separate streams, never a city address). Election dates and the state-candidate limit are data the treasurer keeps
in the database, not settings, because they change with each election and every two years.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class CitipacSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ADVOCACY_CITIPAC_", env_file=None, extra="ignore")

    committee_name: str = Field("CitiPAC", description="the committee's name as filed (Form 410)")
    committee_id: str = Field("", description="the committee's Secretary of State ID, printed on receipts")
    mailing_address: str = Field("", description="where contributors send checks; shown on the pledge page")
    mail_from: str = Field("citipac@pac.advocacy.example.org", description="sender of receipts and requests")
    mail_from_name: str = Field("CitiPAC", description="display name of that sender")
    message_stuck_seconds: int = Field(600, description="sweep: re-send nudges for mail waiting longer than this")


@lru_cache(maxsize=1)
def get_citipac_settings() -> CitipacSettings:
    return CitipacSettings()
