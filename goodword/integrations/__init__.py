"""Inbound connections: one folder per provider (Shopify, Stripe, Segment), the inbox."""
