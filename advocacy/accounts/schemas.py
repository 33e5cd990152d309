"""What the JSON API says about accounts."""

from __future__ import annotations

from pydantic import BaseModel, Field

from advocacy.accounts.models import Role
from advocacy.accounts.service import Profile


class CityRef(BaseModel):
    id: int
    name: str


class DivisionRef(BaseModel):
    slug: str
    name: str


class UserOut(BaseModel):
    """A user as the API shows them. ``division`` is an official's city's division, or a regional manager's own."""

    id: int
    name: str
    email: str
    role: Role
    title: str = ""
    city: CityRef | None = None
    division: DivisionRef | None = None
    may_sign: bool = Field(False, description="may sign letters stating the city's position")

    @classmethod
    def from_profile(cls, found: Profile) -> UserOut:
        user = found.user
        assert user.id is not None
        return cls(
            id=user.id,
            name=user.name,
            email=user.email,
            role=user.role,
            title=user.title,
            city=CityRef(id=found.city.id, name=found.city.name) if found.city and found.city.id else None,
            division=DivisionRef(slug=found.division.slug, name=found.division.name) if found.division else None,
            may_sign=user.may_sign,
        )
