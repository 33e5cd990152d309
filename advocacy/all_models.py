"""Imports every table model so that ``SQLModel.metadata`` is complete (alembic and tests use it)."""

from advocacy.accounts import models as accounts_models  # noqa: F401
from advocacy.campaigns import console_models as campaigns_console_models  # noqa: F401
from advocacy.campaigns import models as campaigns_models  # noqa: F401
from advocacy.citipac import models as citipac_models  # noqa: F401
from advocacy.directory import models as directory_models  # noqa: F401
from advocacy.letters import models as letters_models  # noqa: F401
from advocacy.participation import models as participation_models  # noqa: F401
from advocacy.testimony import models as testimony_models  # noqa: F401
