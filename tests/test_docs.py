"""The README documents every setting and both set-up commands."""

from advocacy import PROJECT_DIR
from advocacy.citipac.config import CitipacSettings
from advocacy.settings import Settings


def test_readme_documents_every_setting() -> None:
    readme = (PROJECT_DIR / "README.md").read_text()
    variables = [f"ADVOCACY_{name.upper()}" for name in Settings.model_fields]
    variables += [f"ADVOCACY_CITIPAC_{name.upper()}" for name in CitipacSettings.model_fields]
    missing = [variable for variable in variables if f"`{variable}`" not in readme]
    assert missing == [], f"README's settings tables lack: {missing}"


def test_readme_starts_with_the_two_commands() -> None:
    readme = (PROJECT_DIR / "README.md").read_text()
    first_block = readme.split("```", 2)[1]
    assert "make run" in first_block and "make test" in first_block
