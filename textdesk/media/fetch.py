"""Fetching inbound MMS media from the provider, without letting a URL reach into our network.

The URL comes from a webhook, so it is treated as hostile (SSRF): only http and https; every
address the host resolves to must be public, or the fetch is refused; we then connect to the
address we checked (the request goes to the IP, with the original Host header and TLS server
name), so a DNS answer that changes between the check and the connection (DNS rebinding) cannot
slip through. Redirects are followed by hand, at most three, and each hop is checked the same
way. The body is streamed with a size cap and a deadline, and stored like an upload.
"""

import ipaddress
import socket
import ssl
import time
from collections.abc import Iterator, Sequence

import httpx
from django.conf import settings

from textdesk.accounts.models import Team
from textdesk.media.models import MAX_MEDIA_BYTES, StoredMedia
from textdesk.media.storage import MediaRefused, store_chunks, too_large

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_REDIRECTS = 3
# The whole fetch, all hops and the body included (DNS resolution aside), takes at most this.
FETCH_TIMEOUT_SECONDS = 30.0
MAX_URL_LENGTH = 2048
CHUNK_BYTES = 64 * 1024
REDIRECT_STATUSES = {301, 302, 303, 307, 308}
# Answers that say "not now" rather than "never".
RETRYABLE_STATUSES = {408, 425, 429}
# NAT64's well-known prefix carries an IPv4 address in its last 32 bits.
NAT64_PREFIX = ipaddress.IPv6Network("64:ff9b::/96")


def why_refused(address: str | IPAddress, *, allow_private: bool = False) -> str | None:
    """Why we will not connect to ``address`` ("loopback", "private", ...), or None if it is a
    public address.

    IPv6 forms that carry an IPv4 address (IPv4-mapped ``::ffff:a.b.c.d``, 6to4, NAT64) are
    judged by that IPv4 address. ``allow_private`` lets loopback and private networks through
    (a provider or test server on the local network) but never link-local addresses (where
    clouds serve instance credentials, 169.254.169.254), multicast, reserved or unspecified.
    """
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in NAT64_PREFIX:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return why_refused(embedded, allow_private=allow_private)
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip.is_loopback:  # before "reserved", which takes in ::1 too (as part of ::/8)
        return None if allow_private else "loopback"
    if ip.is_reserved:
        return "reserved"
    if allow_private:
        return None
    if ip.is_private or not ip.is_global:
        return "private"
    return None


def check_addresses(host: str, addresses: Sequence[str]) -> str:
    """The address to connect to for ``host``, if every one it resolved to is acceptable.

    All of them must pass, not just the one we would use: a host that resolves to a public
    and a private address is up to something."""
    if not addresses:
        raise MediaRefused(f"{host} has no addresses.", code="dns")
    allow_private = settings.MEDIA_FETCH_ALLOW_PRIVATE_ADDRESSES
    for address in addresses:
        reason = why_refused(address, allow_private=allow_private)
        if reason is not None:
            raise MediaRefused(
                f"Media at {host} cannot be fetched: it resolves to {address}, a {reason} address.",
                code="address",
            )
    return addresses[0]


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to, once; an IP literal resolves to itself."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as e:
        temporary = isinstance(e, socket.gaierror) and e.errno == socket.EAI_AGAIN
        raise MediaRefused(
            f"{host} cannot be resolved ({e}).", retryable=temporary, code="dns"
        ) from e
    addresses: list[str] = []
    for *_, sockaddr in infos:
        address = str(sockaddr[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def fetch_remote(
    url: str,
    team: Team,
    *,
    auth: tuple[str, str] | None = None,
    timeout: float = FETCH_TIMEOUT_SECONDS,
    verify: ssl.SSLContext | bool = True,
) -> StoredMedia:
    """Download an inbound MMS file from ``url`` and store it for ``team``, or raise
    MediaRefused (whose ``retryable`` says whether to try again later).

    ``auth`` is sent as HTTP basic auth (Twilio's account SID and auth token, when media
    require it), to the URL's own origin only: never to the host a redirect leads to (Twilio
    sends media on to its storage with a signed URL of its own). ``verify`` replaces the
    usual certificate authorities, for a media host with a private CA (and for tests).
    """
    original = _parse(url)
    current = original
    deadline = time.monotonic() + timeout
    # Proxies from the environment would connect on our behalf to whatever they resolve.
    with httpx.Client(follow_redirects=False, trust_env=False, verify=verify) as client:
        for hop in range(MAX_REDIRECTS + 1):
            same_origin = _origin(current) == _origin(original)
            response = _send(client, current, auth if same_origin else None, deadline)
            try:
                if response.status_code in REDIRECT_STATUSES:
                    location = response.headers.get("location")
                    if not location:
                        raise MediaRefused(
                            f"{current.host} redirected nowhere.", code="bad-redirect"
                        )
                    if hop == MAX_REDIRECTS:
                        raise MediaRefused(
                            f"More than {MAX_REDIRECTS} redirects from {original.host}.",
                            code="redirects",
                        )
                    current = _parse(str(current.join(location)))
                    continue
                _check_status(response)
                _check_headers(response)
                return store_chunks(
                    team,
                    _body(response, deadline),
                    name=original.path.rsplit("/", 1)[-1],  # already percent-decoded
                    source_url=url,
                )
            finally:
                response.close()
    raise AssertionError("unreachable: the loop returns or raises")


def _parse(url: str) -> httpx.URL:
    if len(url) > MAX_URL_LENGTH:
        raise MediaRefused("The media URL is too long.", code="url")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as e:
        raise MediaRefused(f"Not a media URL: {url!r} ({e}).", code="url") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise MediaRefused(f"Only http and https media can be fetched, not {url!r}.", code="url")
    if parsed.userinfo:
        raise MediaRefused("Media URLs may not carry credentials.", code="url")
    return parsed


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port


def _send(
    client: httpx.Client, url: httpx.URL, auth: tuple[str, str] | None, deadline: float
) -> httpx.Response:
    """Send one GET for ``url`` to an address we checked, and return the streaming response."""
    host = url.raw_host.decode("ascii")  # IDNA-encoded, as DNS and TLS know it
    port = url.port or (443 if url.scheme == "https" else 80)
    address = check_addresses(host, resolve(host, port))
    extensions: dict[str, str] = {}
    if url.scheme == "https" and not _is_ip_literal(host):
        # The certificate is checked against the name, not the address we connect to.
        extensions["sni_hostname"] = host.rstrip(".")  # "example.com." is example.com
    request = client.build_request(
        "GET",
        url.copy_with(host=address),
        # Identity only: a compressed body could inflate far past the cap within one chunk.
        headers={"Host": url.netloc.decode("ascii"), "Accept-Encoding": "identity"},
        extensions=extensions,
        timeout=_remaining(deadline),
    )
    try:
        return client.send(request, auth=auth, stream=True)
    except httpx.TimeoutException as e:
        raise MediaRefused(f"{host} did not answer in time.", retryable=True, code="timeout") from e
    except httpx.ConnectError as e:
        certificate_error = _certificate_error(e)
        if certificate_error is not None:
            # A certificate that does not fit the name will not fit it tomorrow either.
            raise MediaRefused(
                f"{host} did not prove who it is ({certificate_error.verify_message}).",
                code="tls",
            ) from e
        raise MediaRefused(
            f"{host} could not be reached ({e}).", retryable=True, code="network"
        ) from e
    except httpx.HTTPError as e:
        raise MediaRefused(
            f"{host} could not be reached ({e}).", retryable=True, code="network"
        ) from e


def _certificate_error(error: BaseException) -> ssl.SSLCertVerificationError | None:
    """The certificate check that failed behind a connection error (httpx wraps httpcore's
    error, which wraps the ssl module's), if that is what it was."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _remaining(deadline: float) -> float:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise MediaRefused("The media took too long to fetch.", retryable=True, code="timeout")
    return remaining


def _check_status(response: httpx.Response) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    retryable = status >= 500 or status in RETRYABLE_STATUSES
    raise MediaRefused(
        f"The media server answered {status} {response.reason_phrase}.",
        retryable=retryable,
        code=f"http-{status}",
    )


def _check_headers(response: httpx.Response) -> None:
    """Refuse before reading a byte when the server says up front that the file is too big, or
    compressed it although we asked for it as it is (we never inflate what we download)."""
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise MediaRefused(
            f"The media server sent the file compressed ({encoding}).", code="encoding"
        )
    try:
        declared = int(response.headers.get("content-length", ""))
    except ValueError:
        return  # absent or nonsense: the streaming cap decides
    if declared > MAX_MEDIA_BYTES:
        raise too_large()


def _body(response: httpx.Response, deadline: float) -> Iterator[bytes]:
    """The response body in chunks, ended with a retryable MediaRefused when the deadline
    passes or the connection fails (a server dripping bytes must not hold us forever)."""
    try:
        for chunk in response.iter_raw(CHUNK_BYTES):
            _remaining(deadline)
            yield chunk
    except httpx.TimeoutException as e:
        raise MediaRefused(
            "The media server stopped sending.", retryable=True, code="timeout"
        ) from e
    except httpx.HTTPError as e:
        raise MediaRefused(f"The download broke off ({e}).", retryable=True, code="network") from e
