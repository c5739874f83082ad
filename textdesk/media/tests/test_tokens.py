"""The provider fetches media without signing in, so the URL's token must be unguessable."""

import string
from urllib.parse import urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from textdesk.media.models import new_token
from textdesk.media.storage import public_url, store_upload
from textdesk.media.tests.images import PNG


def test_tokens_are_128_random_bits_in_hex():
    tokens = {new_token() for _ in range(1_000)}

    assert len(tokens) == 1_000
    assert all(len(token) == 32 and set(token) <= set(string.hexdigits.lower()) for token in tokens)
    # Every hex digit shows up in every position: nothing is fixed or counted up.
    for position in range(32):
        assert {token[position] for token in tokens} == set("0123456789abcdef")


@pytest.mark.django_db
def test_two_uploads_of_the_same_file_get_different_tokens_and_files(world):
    first = store_upload(world.admissions, SimpleUploadedFile("a.png", PNG), world.alice)
    second = store_upload(world.admissions, SimpleUploadedFile("a.png", PNG), world.alice)

    assert first.token != second.token
    assert first.path != second.path
    assert first.filename == second.filename == "a.png"


@pytest.mark.django_db
def test_the_file_path_comes_from_the_token_alone(world, media_root):
    media = store_upload(world.admissions, SimpleUploadedFile("../../../x.png", PNG), world.alice)

    assert media.path == media_root / media.token[:2] / media.token
    assert media.path.read_bytes() == PNG


@pytest.mark.django_db
def test_the_public_url_is_on_the_public_address_with_token_and_filename(world, settings):
    media = store_upload(world.admissions, SimpleUploadedFile("map.png", PNG), world.alice)

    url = public_url(media)

    assert url == f"{settings.TEXTDESK_PUBLIC_URL}/m/{media.token}/map.png"
    assert urlsplit(url).scheme == "https"
