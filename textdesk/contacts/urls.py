from django.urls import path

from textdesk.contacts import import_views, segment_views, views

TEAM = "teams/<int:team_id>/"

urlpatterns = [
    path("contacts/", views.contacts_home, name="contacts_home"),
    path(TEAM + "contacts/", views.contact_list, name="contacts"),
    path(TEAM + "contacts/export.csv", views.export, name="contacts_export"),
    path(TEAM + "contacts/<int:contact_id>/", views.contact_detail, name="contact"),
    path(TEAM + "imports/new/", import_views.import_new, name="import_new"),
    path(TEAM + "imports/<int:import_id>/", import_views.import_detail, name="import"),
    path(
        TEAM + "imports/<int:import_id>/resume/", import_views.import_resume, name="import_resume"
    ),
    path(
        TEAM + "imports/<int:import_id>/rejected.csv",
        import_views.import_report,
        name="import_report",
    ),
    path(
        TEAM + "imports/<int:import_id>/list/",
        segment_views.list_from_import,
        name="list_from_import",
    ),
    path(TEAM + "segments/", segment_views.segment_list, name="segments"),
    path(TEAM + "segments/new/", segment_views.segment_edit, name="segment_new"),
    path(TEAM + "segments/count/", segment_views.segment_count, name="segment_count"),
    path(TEAM + "segments/lists/new/", segment_views.new_list, name="list_new"),
    path(TEAM + "segments/lists/add/", segment_views.add_to_list, name="list_add"),
    path(TEAM + "segments/<int:segment_id>/", segment_views.segment_edit, name="segment_edit"),
    path(
        TEAM + "segments/<int:segment_id>/count/",
        segment_views.saved_segment_count,
        name="segment_saved_count",
    ),
    path(
        TEAM + "segments/<int:segment_id>/contacts/",
        segment_views.segment_members,
        name="segment_members",
    ),
    path(
        TEAM + "segments/<int:segment_id>/delete/",
        segment_views.segment_delete,
        name="segment_delete",
    ),
]
