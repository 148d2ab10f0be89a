from __future__ import annotations

from django.http import HttpRequest, HttpResponseRedirect
from django.urls import path


def redirect(request: HttpRequest, code: str) -> HttpResponseRedirect:
    response = HttpResponseRedirect("https://shop.example.com/?gw_ref=x")
    response["Cache-Control"] = "no-store"
    return response


urlpatterns = [path("r/<str:code>", redirect)]
