from django.contrib import admin

from textdesk.inboxes.models import Inbox, InboxAccess, PhoneNumber


class InboxAccessInline(admin.TabularInline):
    model = InboxAccess
    extra = 1
    autocomplete_fields = ["user"]


class PhoneNumberInline(admin.TabularInline):
    model = PhoneNumber
    extra = 0


@admin.register(Inbox)
class InboxAdmin(admin.ModelAdmin):
    list_display = ["name", "team", "kind", "owner"]
    list_filter = ["kind", "team"]
    search_fields = ["name"]
    inlines = [PhoneNumberInline, InboxAccessInline]
