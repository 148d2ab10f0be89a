from __future__ import annotations

from django.urls import path

from . import batches, fulfilments, manual, pools, views

urlpatterns = [
    # Rewards: the fixed paths before a reward's id.
    path("rewards/", views.rewards, name="rewards"),
    path("rewards/export.csv", views.export, name="rewards_export"),
    path("rewards/bulk/", views.bulk, name="rewards_bulk"),
    path("rewards/new/", manual.grant, name="reward_grant"),
    path("rewards/credit/", manual.credit, name="credit_adjust"),
    path("rewards/<str:reward_id>/", views.reward, name="reward"),
    path("rewards/<str:reward_id>/approve/", views.approve, name="reward_approve"),
    path("rewards/<str:reward_id>/reject/", views.reject, name="reward_reject"),
    path("rewards/<str:reward_id>/reverse/", views.reverse_, name="reward_reverse"),
    path("rewards/<str:reward_id>/fulfil/", views.fulfil, name="reward_fulfil"),
    # The fulfilment queue.
    path("fulfilments/", fulfilments.fulfilments, name="fulfilments"),
    path("fulfilments/<str:fulfilment_id>/done/", fulfilments.done, name="fulfilment_done"),
    # Payout batches.
    path("payouts/", batches.batches, name="payouts"),
    path("payouts/new/", batches.create, name="payout_batch_create"),
    path("payouts/<str:batch_id>/", batches.batch, name="payout_batch"),
    path("payouts/<str:batch_id>/approve/", batches.approve, name="payout_batch_approve"),
    path("payouts/<str:batch_id>/cancel/", batches.cancel, name="payout_batch_cancel"),
    path("payouts/<str:batch_id>/export/<str:fmt>/", batches.export, name="payout_batch_export"),
    path("payouts/<str:batch_id>/payouts/<str:payout_id>/paid/", batches.paid, name="payout_paid"),
    path(
        "payouts/<str:batch_id>/payouts/<str:payout_id>/failed/",
        batches.failed,
        name="payout_failed",
    ),
    # Coupon pools.
    path("coupon-pools/", pools.pools, name="coupon_pools"),
    path("coupon-pools/new/", pools.create, name="coupon_pool_create"),
    path("coupon-pools/<str:pool_id>/", pools.pool, name="coupon_pool"),
    path("coupon-pools/<str:pool_id>/codes/", pools.upload, name="coupon_pool_codes"),
]
