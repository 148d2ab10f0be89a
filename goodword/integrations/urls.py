from __future__ import annotations

from django.urls import path

from goodword.integrations.segment import views as segment
from goodword.integrations.shopify import views as shopify
from goodword.integrations.stripe import views as stripe

urlpatterns = [
    path("shopify/<str:connection_id>", shopify.receive_webhook, name="hook-shopify"),
    path("stripe/<str:connection_id>", stripe.receive_webhook, name="hook-stripe"),
    path("segment/v1/<str:kind>", segment.receive_call, name="hook-segment"),
]
