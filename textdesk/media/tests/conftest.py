import ssl
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from textdesk.media.tests.origin import Origin


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path) -> Path:
    """Every media test stores real files, in a folder of its own."""
    root = tmp_path / "media"
    settings.MEDIA_ROOT = root
    settings.MEDIA_FETCH_ALLOW_PRIVATE_ADDRESSES = False
    return root


@pytest.fixture
def stored_files(media_root) -> Callable[[], list[Path]]:
    """Every file under MEDIA_ROOT, staging area included."""
    return lambda: sorted(p for p in media_root.rglob("*") if p.is_file())


@pytest.fixture
def start_origin() -> Iterator[Callable[..., Origin]]:
    started: list[Origin] = []

    def start(*, tls: ssl.SSLContext | None = None) -> Origin:
        started.append(Origin(tls=tls))
        return started[-1]

    yield start
    for origin in started:
        origin.close()


@pytest.fixture
def origin(start_origin) -> Origin:
    """A media host on loopback. Reaching it needs MEDIA_FETCH_ALLOW_PRIVATE_ADDRESSES."""
    return start_origin()


@pytest.fixture
def allow_loopback(settings) -> None:
    settings.MEDIA_FETCH_ALLOW_PRIVATE_ADDRESSES = True
