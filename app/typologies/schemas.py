from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class Typology(BaseModel):
    """One fraud category: what it is, how it works, and what a citizen should do."""

    code: str = Field(description="the category code used in flags", examples=["TASK_SCAM"])
    name_vi: str
    name_en: str
    description_vi: str = Field(description="how the scam works, in Vietnamese")
    description_en: str = Field(description="how the scam works, in English")
    advice_vi: list[str] = Field(description="what to do, in Vietnamese")
    advice_en: list[str] = Field(description="what to do, in English")
    newly_flagged_subjects: int = Field(
        description="distinct accounts, wallets and phone numbers newly flagged under this "
        "category (a new report, or a police flag) in the last `window_days` days"
    )


class TypologyList(BaseModel):
    window_days: int = Field(description="the window of `newly_flagged_subjects`")
    counted_at: datetime = Field(description="when the counts were taken (refreshed each minute)")
    items: list[Typology]
