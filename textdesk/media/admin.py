from django.contrib import admin
from django.http import HttpRequest

from textdesk.media.models import StoredMedia


@admin.register(StoredMedia)
class StoredMediaAdmin(admin.ModelAdmin):
    """Read-only: files are only ever stored through textdesk.media.storage, which checks them,
    and a row deleted here would leave its file behind on disk."""

    list_display = ["filename", "team", "content_type", "size", "created_by", "created_at"]
    list_filter = ["team", "content_type"]
    search_fields = ["filename", "token", "source_url"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: StoredMedia | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: StoredMedia | None = None) -> bool:
        return False
