"""The bundled Clas definitions, and each campaign's compiled definition."""
from pathlib import Path

from .engine.definition import Definition, definition_for, forget_compiled, read_definition_file

DEFINITIONS_DIR = Path(__file__).parent / "definitions"


def check_bundled_definitions() -> dict[str, Definition]:
    """Validate every file of ``survey/definitions``; refuse to start on a broken one."""
    return {path.stem: read_definition_file(path)[1] for path in sorted(DEFINITIONS_DIR.glob("*.json"))}


_by_campaign: dict[tuple, Definition] = {}


def campaign_definition(campaign) -> Definition:
    """The campaign's compiled definition, without reading its stored JSON once compiled.

    A campaign's definition never changes after creation, so the compiled one
    is kept per process, keyed by the campaign's identity and definition version.
    """
    if campaign.id is None:
        return definition_for(campaign.definition_content)
    key = (campaign.id, campaign.code, campaign.definition_code, campaign.definition_version)
    definition = _by_campaign.get(key)
    if definition is None:
        definition = _by_campaign[key] = definition_for(campaign.definition_content)
    return definition


def response_definition(response) -> Definition:
    return campaign_definition(response.campaign)


def forget_campaign_definitions():
    """Drop every compiled definition kept by this process.

    A campaign's id, code and definition version identify its definition in
    production; a test database starts again from id 1 with other contents.
    """
    _by_campaign.clear()
    forget_compiled()
