from django.urls import path

from receivers.shortlinks import redirect_view

urlpatterns = [path("r/<str:code>", redirect_view, name="short-url")]
