from django.urls import path

from textdesk.inboxes import views

urlpatterns = [path("switcher/", views.switcher, name="switcher")]
