from django import template

from textdesk.conversations.attachments import is_ours

register = template.Library()


@register.filter
def is_our_media(url: str) -> bool:
    """Pictures in our own storage are shown inline; anything else is only linked."""
    return is_ours(url)
