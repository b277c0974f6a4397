from django.urls import path

from . import views

urlpatterns = [
    path("", views.home),
    path("offers", views.offers),
    path("feed", views.feed),
]
