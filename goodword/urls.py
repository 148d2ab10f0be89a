from __future__ import annotations

from django.contrib import admin
from django.urls import include, path, re_path

from goodword.api.v1.api import api
from goodword.public import views as public
from goodword.public.claim import claim as landing_claim
from goodword.public.og import og_image
from goodword.public.sms import sms_inbound
from goodword.public.unsubscribe import unsubscribe_page

admin.site.site_header = "Goodword staff"
admin.site.site_title = "Goodword"

urlpatterns = [
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    path("dashboard/", include("goodword.dashboard.urls")),
    path("hooks/email/", include("goodword.messaging.hooks")),
    path("hooks/sms/inbound", sms_inbound, name="hook-sms-inbound"),
    path("hooks/", include("goodword.integrations.urls")),
    path("s/<str:code>", public.share_page, name="share"),
    re_path(r"^r/(?P<code>[^/]+)/?$", public.redirect_view, name="redirect"),
    path("l/<str:code>/claim", landing_claim, name="landing-claim"),
    path("og/<str:program_id>.png", og_image, name="og-image"),
    path("u/<str:token>", unsubscribe_page, name="unsubscribe"),
    path("healthz", public.healthz),
    path("demo/shop", public.demo_shop),
    path("", public.home),
]
