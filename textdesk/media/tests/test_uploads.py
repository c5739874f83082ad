"""Staff attach images to replies and compose: JPEG, PNG and GIF up to 5 MB, judged by content."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from textdesk.accounts.models import Team
from textdesk.media.models import MAX_MEDIA_BYTES, StoredMedia
from textdesk.media.storage import MediaRefused, safe_filename, store_upload
from textdesk.media.tests.images import GIF, JPEG, PNG, png

pytestmark = pytest.mark.django_db


def upload(name: str, content: bytes, content_type: str = "image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


@pytest.mark.parametrize(
    ("name", "content", "content_type", "filename"),
    [
        ("campus.jpg", JPEG, "image/jpeg", "campus.jpg"),
        ("map.png", PNG, "image/png", "map.png"),
        ("wave.gif", GIF, "image/gif", "wave.gif"),
    ],
)
def test_jpeg_png_and_gif_are_stored(world, media_root, name, content, content_type, filename):
    media = store_upload(world.admissions, upload(name, content, content_type), world.alice)

    media.refresh_from_db()
    assert (media.team, media.created_by) == (world.admissions, world.alice)
    assert (media.filename, media.content_type, media.size) == (
        filename,
        content_type,
        len(content),
    )
    assert media.source_url == ""
    assert media.path.read_bytes() == content
    assert media.path.is_relative_to(media_root)
    assert not media.is_large


def test_the_type_comes_from_the_contents_not_the_name_or_the_browser(world):
    media = store_upload(world.admissions, upload("photo.gif", PNG, "image/gif"), world.alice)

    assert (media.content_type, media.filename) == ("image/png", "photo.png")


def test_a_text_file_renamed_jpg_is_refused_and_nothing_is_written(world, stored_files):
    text = upload("essay.jpg", b"Dear admissions office, please find my essay attached.")

    with pytest.raises(MediaRefused) as refused:
        store_upload(world.admissions, text, world.alice)

    assert refused.value.message == "Only JPEG, PNG and GIF images can be attached."
    assert (refused.value.code, refused.value.retryable) == ("type", False)
    assert not StoredMedia.objects.exists()
    assert stored_files() == []


def test_a_file_over_5_mb_is_refused_and_nothing_is_written(world, stored_files):
    with pytest.raises(MediaRefused) as refused:
        store_upload(
            world.admissions, upload("poster.png", png(total_size=MAX_MEDIA_BYTES + 1)), None
        )

    assert refused.value.code == "too-large"
    assert "at most 5 MB" in refused.value.message
    assert not StoredMedia.objects.exists()
    assert stored_files() == []


def test_a_file_that_grows_past_5_mb_while_being_read_is_refused(world, stored_files):
    """The declared size can be wrong (or absent): the bytes themselves are counted too."""
    poster = upload("poster.png", png(total_size=MAX_MEDIA_BYTES + 1))
    poster.size = 1_000

    with pytest.raises(MediaRefused, match="at most 5 MB"):
        store_upload(world.admissions, poster, None)

    assert not StoredMedia.objects.exists()
    assert stored_files() == []


def test_a_file_of_exactly_5_mb_is_accepted_and_flagged_large(world):
    media = store_upload(
        world.admissions, upload("poster.png", png(total_size=MAX_MEDIA_BYTES)), None
    )

    assert media.size == MAX_MEDIA_BYTES
    assert media.is_large


def test_an_image_larger_than_carriers_like_is_accepted_but_flagged_large(world):
    just_fine = store_upload(world.admissions, upload("a.png", png(total_size=600 * 1024)), None)
    large = store_upload(world.admissions, upload("b.png", png(total_size=600 * 1024 + 1)), None)

    assert not just_fine.is_large
    assert large.is_large


def test_an_empty_file_is_refused(world, stored_files):
    with pytest.raises(MediaRefused) as refused:
        store_upload(world.admissions, upload("nothing.png", b""), world.alice)

    assert (refused.value.message, refused.value.code) == ("The file is empty.", "empty")
    assert stored_files() == []


def test_a_file_too_short_to_be_an_image_is_refused(world, stored_files):
    with pytest.raises(MediaRefused, match="Only JPEG, PNG and GIF"):
        store_upload(world.admissions, upload("tiny.gif", b"GIF"), world.alice)

    assert stored_files() == []


def test_a_failed_database_write_leaves_no_file_behind(world, stored_files):
    unsaved_team = Team(name="Not saved")

    with pytest.raises(ValueError, match="unsaved"):
        store_upload(unsaved_team, upload("map.png", PNG), world.alice)

    assert not StoredMedia.objects.exists()
    assert stored_files() == []


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd.png", "passwd.png"),
        ("C:\\Users\\alice\\Desktop\\scan.png", "scan.png"),
        ("Ünïcode photo (1).PNG", "Unicode-photo-1.png"),
        ("report.html.png", "report-html.png"),
        ("<b>alert(1)<b>.png", "b-alert-1-b.png"),
        ("<script>alert(1)</script>.png", "script.png"),  # "/" ends a directory name
        (".htaccess", "image.png"),
        ("", "image.png"),
        ("写真.png", "image.png"),
        ("x" * 300 + ".png", "x" * 80 + ".png"),
    ],
)
def test_filenames_are_made_safe_for_urls_and_paths(name, expected):
    assert safe_filename(name, "image/png") == expected


def test_the_extension_follows_the_real_type():
    assert safe_filename("scan.png", "image/jpeg") == "scan.jpg"
    assert safe_filename("scan", "image/gif") == "scan.gif"
