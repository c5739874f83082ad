"""Inbound MMS media are fetched from the provider over real HTTP (here: a server on loopback,
which only the tests that say so may reach) and stored like uploads."""

import base64

import pytest

from textdesk.media.fetch import fetch_remote
from textdesk.media.models import MAX_MEDIA_BYTES, StoredMedia
from textdesk.media.storage import MediaRefused
from textdesk.media.tests.images import GIF, JPEG, PNG
from textdesk.media.tests.tls import Certificates, make_certificates

pytestmark = pytest.mark.django_db

TWILIO_AUTH = ("AC" + "0123456789abcdef" * 2, "12345678901234567890123456789012")


def refusal(url: str, team, **kwargs) -> MediaRefused:
    with pytest.raises(MediaRefused) as refused:
        fetch_remote(url, team, **kwargs)
    return refused.value


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::ffff:127.0.0.1]"])
def test_a_fetch_from_loopback_is_refused_by_default_without_connecting(world, origin, host):
    origin.serve("/cat.png", PNG)

    refused = refusal(origin.url("/cat.png", host=host), world.admissions)

    assert (refused.code, refused.retryable) == ("address", False)
    assert "loopback" in refused.message
    assert origin.received() == []
    assert not StoredMedia.objects.exists()


def test_a_good_fetch_stores_the_file_and_where_it_came_from(
    world, origin, allow_loopback, stored_files
):
    url = origin.serve("/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1", JPEG)

    media = fetch_remote(url, world.admissions)

    media.refresh_from_db()
    assert (media.team, media.created_by, media.source_url) == (world.admissions, None, url)
    assert (media.content_type, media.size, media.filename) == ("image/jpeg", len(JPEG), "ME1.jpg")
    assert media.path.read_bytes() == JPEG
    assert stored_files() == [media.path]


def test_the_request_goes_to_the_checked_address_with_the_original_host(
    world, origin, allow_loopback
):
    origin.serve("/wave.gif", GIF, content_type="application/octet-stream")

    media = fetch_remote(origin.url("/wave.gif", host="localhost"), world.admissions)

    [request] = origin.received()
    assert request.headers["host"] == f"localhost:{origin.port}"
    assert request.headers["accept-encoding"] == "identity"
    assert media.content_type == "image/gif"  # from the bytes, not the server's word


def test_basic_auth_is_sent_when_given(world, origin, allow_loopback):
    url = origin.serve("/Media/ME2", PNG)

    fetch_remote(url, world.admissions, auth=TWILIO_AUTH)

    [request] = origin.received()
    assert request.headers["authorization"] == basic(*TWILIO_AUTH)


def test_no_auth_is_sent_when_none_is_given(world, origin, allow_loopback):
    fetch_remote(origin.serve("/Media/ME3", PNG), world.admissions)

    [request] = origin.received()
    assert "authorization" not in request.headers


def test_auth_is_not_passed_on_to_another_host_after_a_redirect(
    world, start_origin, allow_loopback
):
    twilio, storage = start_origin(), start_origin()
    storage.serve("/signed/ME4", PNG)
    url = twilio.redirect("/Media/ME4", storage.url("/signed/ME4"), status=307)

    media = fetch_remote(url, world.admissions, auth=TWILIO_AUTH)

    assert twilio.received()[0].headers["authorization"] == basic(*TWILIO_AUTH)
    assert "authorization" not in storage.received()[0].headers
    assert media.source_url == url


def test_up_to_three_redirects_are_followed(world, origin, allow_loopback):
    origin.redirect("/1", "/2")
    origin.redirect("/2", origin.url("/3", host="localhost"), status=301)
    origin.redirect("/3", "/file.png", status=308)
    origin.serve("/file.png", PNG)

    media = fetch_remote(origin.url("/1"), world.admissions)

    assert media.path.read_bytes() == PNG
    assert [r.path for r in origin.received()] == ["/1", "/2", "/3", "/file.png"]


def test_a_fourth_redirect_is_refused(world, origin, allow_loopback, stored_files):
    for hop in range(1, 5):
        origin.redirect(f"/{hop}", f"/{hop + 1}")
    origin.serve("/5", PNG)

    refused = refusal(origin.url("/1"), world.admissions)

    assert (refused.code, refused.retryable) == ("redirects", False)
    assert "/5" not in [r.path for r in origin.received()]
    assert stored_files() == []


@pytest.mark.parametrize(
    "location",
    [
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://[fe80::1]/",
        "http://0.0.0.0:{port}/cat.png",
        "http://[::ffff:169.254.169.254]/",
    ],
)
def test_a_redirect_from_an_allowed_server_to_a_forbidden_address_is_refused(
    world, origin, allow_loopback, location
):
    origin.serve("/cat.png", PNG)
    url = origin.redirect("/Media/ME5", location.format(port=origin.port))

    refused = refusal(url, world.admissions)

    assert (refused.code, refused.retryable) == ("address", False)
    assert [r.path for r in origin.received()] == ["/Media/ME5"]


@pytest.mark.parametrize("target", ["127.0.0.1", "localhost", "[::ffff:127.0.0.1]"])
def test_a_redirect_to_a_private_address_is_refused_by_default(world, origin, settings, target):
    """The loopback server plays a public host: let through for its first hop, after which
    private addresses are refused again, as by default, when the redirect is checked."""
    origin.serve("/internal/admin", PNG)

    def back_to_defaults() -> None:
        settings.MEDIA_FETCH_ALLOW_PRIVATE_ADDRESSES = False

    settings.MEDIA_FETCH_ALLOW_PRIVATE_ADDRESSES = True
    url = origin.redirect(
        "/Media/ME6", origin.url("/internal/admin", host=target), before_answer=back_to_defaults
    )

    refused = refusal(url, world.admissions)

    assert (refused.code, refused.retryable) == ("address", False)
    assert [r.path for r in origin.received()] == ["/Media/ME6"]


def test_a_stream_over_5_mb_is_cut_off_and_nothing_is_stored(
    world, origin, allow_loopback, stored_files
):
    url = origin.serve("/huge.png", PNG, stream_to=MAX_MEDIA_BYTES + 64 * 1024)

    refused = refusal(url, world.admissions)

    assert (refused.code, refused.retryable) == ("too-large", False)
    assert not StoredMedia.objects.exists()
    assert stored_files() == []


def test_a_declared_length_over_5_mb_is_refused_before_reading(
    world, origin, allow_loopback, stored_files
):
    url = origin.serve("/huge.png", PNG, headers={"Content-Length": str(MAX_MEDIA_BYTES + 1)})

    refused = refusal(url, world.admissions)

    assert refused.code == "too-large"
    assert stored_files() == []


def test_a_page_that_is_not_an_image_is_refused_whatever_its_content_type(
    world, origin, allow_loopback, stored_files
):
    url = origin.serve("/cat.png", b"<html><body>Sign in</body></html>", content_type="image/png")

    refused = refusal(url, world.admissions)

    assert (refused.code, refused.retryable) == ("type", False)
    assert stored_files() == []


def test_a_compressed_answer_is_refused(world, origin, allow_loopback):
    url = origin.serve("/cat.png", b"\x1f\x8b\x08\x00", headers={"Content-Encoding": "gzip"})

    assert refusal(url, world.admissions).code == "encoding"


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (503, True), (429, True)])
def test_server_errors_may_be_retried(world, origin, allow_loopback, status, retryable):
    url = origin.serve("/busy", b"try later", status=status, content_type="text/plain")

    refused = refusal(url, world.admissions)

    assert (refused.code, refused.retryable) == (f"http-{status}", retryable)


@pytest.mark.parametrize("status", [401, 403, 404, 410])
def test_client_errors_will_not_change_on_retry(world, origin, allow_loopback, status):
    url = origin.serve("/gone", b"no", status=status, content_type="text/plain")

    refused = refusal(url, world.admissions)

    assert (refused.code, refused.retryable) == (f"http-{status}", False)


def test_a_server_that_does_not_answer_in_time_may_be_retried(
    world, origin, allow_loopback, stored_files
):
    url = origin.serve("/slow.png", PNG, delay=10)

    refused = refusal(url, world.admissions, timeout=0.3)

    assert (refused.code, refused.retryable) == ("timeout", True)
    assert stored_files() == []


def test_a_server_dripping_bytes_is_cut_off_at_the_deadline(
    world, origin, allow_loopback, stored_files
):
    url = origin.serve("/drip.png", PNG, stream_to=4 * 1024 * 1024, drip_seconds=0.1)

    refused = refusal(url, world.admissions, timeout=0.5)

    assert (refused.code, refused.retryable) == ("timeout", True)
    assert stored_files() == []


def test_a_server_that_is_not_there_may_be_retried(world, origin, allow_loopback):
    url = origin.url("/cat.png")
    origin.close()

    refused = refusal(url, world.admissions)

    assert (refused.code, refused.retryable) == ("network", True)


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://media.example.com/cat.png",
        "gopher://127.0.0.1:6379/_FLUSHALL",
        "javascript:alert(1)",
        "http:///cat.png",
        "http://user:secret@media.example.com/cat.png",
        "http://" + "a" * 2100 + ".example.com/",
    ],
)
def test_only_plain_http_and_https_urls_are_fetched(world, url):
    refused = refusal(url, world.admissions)

    assert (refused.code, refused.retryable) == ("url", False)


@pytest.fixture
def certificates(tmp_path) -> Certificates:
    return make_certificates(tmp_path)


def test_https_connects_to_the_checked_address_but_verifies_the_name(
    world, start_origin, allow_loopback, certificates
):
    origin = start_origin(tls=certificates.server)
    origin.serve("/Media/ME7", PNG)

    media = fetch_remote(
        origin.url("/Media/ME7", host="localhost"), world.admissions, verify=certificates.client
    )

    assert media.path.read_bytes() == PNG
    assert origin.server_names == ["localhost"]
    assert origin.received()[0].headers["host"] == f"localhost:{origin.port}"


def test_https_to_a_certificate_for_another_name_is_refused_for_good(
    world, start_origin, allow_loopback, certificates
):
    origin = start_origin(tls=certificates.server)
    origin.serve("/Media/ME8", PNG)

    refused = refusal(origin.url("/Media/ME8"), world.admissions, verify=certificates.client)

    assert (refused.code, refused.retryable) == ("tls", False)
    assert origin.received() == []
