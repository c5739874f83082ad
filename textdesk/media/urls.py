from django.urls import path

from textdesk.media import views

urlpatterns = [
    path("<str:token>/<str:filename>", views.media_file, name="media_file"),
]
