"""The form for a new connection: the provider, its secret, and the options the API takes."""

from __future__ import annotations

from typing import Any

from django import forms

from goodword.integrations.models import Provider

WHAT_TO_PASTE = (
    "Shopify: your app's client secret. Stripe: the endpoint's signing secret (whsec_…). "
    "Segment: leave empty; a write key is made for you."
)


class ConnectionForm(forms.Form):
    provider = forms.ChoiceField(choices=Provider.choices)
    secret = forms.CharField(
        max_length=200, required=False, help_text=WHAT_TO_PASTE, widget=forms.PasswordInput
    )
    shop_domain = forms.CharField(
        max_length=255,
        required=False,
        label="Shop domain (Shopify)",
        help_text="e.g. your-store.myshopify.com; webhooks of other shops are refused",
    )
    description = forms.CharField(max_length=200, required=False)

    def options(self) -> dict[str, Any]:
        data = self.cleaned_data
        out: dict[str, Any] = {}
        if data.get("description"):
            out["description"] = data["description"]
        if data.get("shop_domain"):
            out["shop_domain"] = data["shop_domain"].strip().lower()
        return out

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("shop_domain") and data.get("provider") != Provider.SHOPIFY:
            self.add_error("shop_domain", "Only a Shopify connection takes a shop domain.")
        return data
