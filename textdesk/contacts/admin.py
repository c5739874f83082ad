from django.contrib import admin

from textdesk.contacts.models import Contact


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["phone", "first_name", "last_name", "team"]
    list_filter = ["team"]
    search_fields = ["phone", "first_name", "last_name"]
