"""/m/<token>/<filename>: the provider fetches attachments there, without signing in."""

from urllib.parse import urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from textdesk.media.storage import public_url, store_upload
from textdesk.media.tests.images import GIF, JPEG

pytestmark = pytest.mark.django_db


@pytest.fixture
def media(world):
    return store_upload(world.admissions, SimpleUploadedFile("campus.jpg", JPEG), world.alice)


def path_of(media) -> str:
    return urlsplit(public_url(media)).path


def test_anyone_with_the_url_gets_the_file_without_signing_in(client, media):
    response = client.get(path_of(media))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == JPEG
    assert response["Content-Type"] == "image/jpeg"
    assert response["Content-Length"] == str(len(JPEG))
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"] == 'inline; filename="campus.jpg"'
    assert "max-age=31536000" in response["Cache-Control"]
    assert "sandbox" in response["Content-Security-Policy"]


def test_the_type_served_is_the_one_stored(client, world):
    gif = store_upload(world.admissions, SimpleUploadedFile("wave.png", GIF, "image/png"), None)

    response = client.get(path_of(gif))

    assert response["Content-Type"] == "image/gif"


def test_a_signed_in_user_gets_it_too(client, world, media):
    client.force_login(world.charlie)  # even from another team: the URL is the key

    response = client.get(path_of(media))

    assert response.status_code == 200


def test_an_unknown_token_is_not_found(client, media):
    other_token = ("0" if media.token[0] != "0" else "1") + media.token[1:]

    assert client.get(f"/m/{other_token}/campus.jpg").status_code == 404
    assert client.get("/m/not-a-token/campus.jpg").status_code == 404


def test_the_right_token_with_another_filename_is_not_found(client, media):
    assert client.get(f"/m/{media.token}/campus.png").status_code == 404
    assert client.get(f"/m/{media.token}/other.jpg").status_code == 404


def test_a_file_missing_from_disk_is_not_found(client, media):
    media.path.unlink()

    assert client.get(path_of(media)).status_code == 404


def test_head_answers_with_headers_only(client, media):
    response = client.head(path_of(media))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Content-Length"] == str(len(JPEG))


def test_only_get_and_head_are_allowed(client, media):
    assert client.post(path_of(media)).status_code == 405
    assert client.delete(path_of(media)).status_code == 405
