from __future__ import annotations

from django.contrib import admin
from django.urls import include, path, re_path

from goodword.api.v1.api import api
from goodword.public import flyer, qr
from goodword.public import views as public
from goodword.public.claim import claim as landing_claim
from goodword.public.og import og_image
from goodword.public.portal import views as portal
from goodword.public.sms import sms_inbound
from goodword.public.unsubscribe import unsubscribe_page

admin.site.site_header = "Goodword staff"
admin.site.site_title = "Goodword"
# Public 404s in the browser's language (goodword/public/pagelang.py).
handler404 = "goodword.public.views.not_found"

urlpatterns = [
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    path("dashboard/", include("goodword.dashboard.urls")),
    path("hooks/email/", include("goodword.messaging.hooks")),
    path("hooks/sms/inbound", sms_inbound, name="hook-sms-inbound"),
    path("hooks/", include("goodword.integrations.urls")),
    path("s/<str:code>", public.share_page, name="share"),
    re_path(r"^r/(?P<code>[^/]+)/?$", public.redirect_view, name="redirect"),
    re_path(r"^q/(?P<code>[^/.]+)\.(?P<kind>svg|png)$", qr.qr_image, name="qr"),
    path("q/<str:code>/flyer", flyer.flyer, name="flyer"),
    path("l/<str:code>/claim", landing_claim, name="landing-claim"),
    path("og/<str:program_id>.png", og_image, name="og-image"),
    path("u/<str:token>", unsubscribe_page, name="unsubscribe"),
    path("", include("goodword.public.widget.urls")),
    path("brand/<str:digest>.png", public.brand_logo, name="brand-logo"),
    # The advocate portal (docs/sharing-portal.md); `p/<token>` last: a token has two dots.
    path("p/", portal.portal_page, name="portal"),
    path("p/share", portal.share, name="portal-share"),
    path("p/shared", portal.shared, name="portal-shared"),
    path("p/invite", portal.invite, name="portal-invite"),
    path("p/choose", portal.choose, name="portal-choose"),
    path("p/<str:token>", portal.magic_link, name="portal-link"),
    path("healthz", public.healthz),
    path("demo/shop", public.demo_shop),
    path("", public.home),
]
