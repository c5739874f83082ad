"""Provider lookup by name: the one place that knows which folders implement the interface."""

from functools import cache

from textdesk.providers.base import Provider
from textdesk.providers.names import ProviderName


@cache
def _provider_classes() -> dict[str, type[Provider]]:
    from textdesk.providers.simulator.provider import SimulatorProvider
    from textdesk.providers.twilio.provider import TwilioProvider

    return {ProviderName.SIMULATOR: SimulatorProvider, ProviderName.TWILIO: TwilioProvider}


def get_provider(name: str) -> Provider:
    """A provider configured from settings (read now, so tests may override them)."""
    try:
        return _provider_classes()[name]()
    except KeyError:
        raise LookupError(f"Unknown SMS provider {name!r}") from None


def all_providers() -> list[Provider]:
    return [cls() for cls in _provider_classes().values()]
