"""The public address of a stored image. The provider fetches it without signing in, so the
random token in the URL is the only key; the file's contents never change once stored."""

from django.contrib.auth.decorators import login_not_required
from django.http import FileResponse, Http404, HttpRequest
from django.views.decorators.http import require_safe

from textdesk.media.models import TOKEN_PATTERN, StoredMedia

# A year, and "immutable": the same URL always means the same bytes.
CACHE_CONTROL = "public, max-age=31536000, immutable"


@login_not_required
@require_safe
def media_file(request: HttpRequest, token: str, filename: str) -> FileResponse:
    if not TOKEN_PATTERN.fullmatch(token):
        raise Http404
    media = StoredMedia.objects.filter(token=token).first()
    # The filename must match too: a URL is only ever valid exactly as public_url() built it.
    if media is None or media.filename != filename:
        raise Http404
    try:
        handle = media.path.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(handle, content_type=media.content_type, filename=media.filename)
    # Browsers must take the type we checked, never guess another from the bytes (a GIF that
    # is also valid HTML), and may not run anything in it even when opened on its own.
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = CACHE_CONTROL
    return response
