from django.urls import path

from textdesk.providers.simulator import views

app_name = "simulator"
urlpatterns = [
    path("", views.phone, name="phone"),
    path("send/", views.send, name="send"),
]
