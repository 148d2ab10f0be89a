from __future__ import annotations

from django.conf import settings
from django.db import models

from goodword.lib import ids
from goodword.lib.models import TenantQuerySet


class Workspace(models.Model):
    """A tenant: one business. Every tenant row carries `workspace_id`."""

    public_id = models.CharField(max_length=32, unique=True, default=ids.new_ws_id, editable=False)
    name = models.CharField(max_length=200)
    # Hosts a referral link may redirect to; a host allows its subdomains too.
    allowed_domains = models.JSONField(default=list, blank=True)
    # The widget's signing secret (`accounts.widget`): the business's server signs a signed-in
    # customer's id with it. Kept as is, not hashed: the server must recompute the HMAC to
    # verify it. "" until first asked for. The previous one keeps working for a day after a
    # rotation, so sites can deploy the new one without a gap.
    widget_secret = models.CharField(max_length=64, blank=True, default="")
    widget_secret_previous = models.CharField(max_length=64, blank=True, default="")
    widget_secret_rotated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A user's place in a workspace. What each role may do is `accounts.roles`."""

    class Role(models.TextChoices):
        OWNER = "owner"
        ADMIN = "admin"
        ANALYST = "analyst"  # reads everything, changes nothing
        REVIEWER = "reviewer"  # reads; approves and rejects rewards; runs payouts and fulfilment

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.ANALYST)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user"], name="one_membership_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace}"


class ApiKey(models.Model):
    """An API key. Only its SHA-256 is stored; a secret key is shown once, at creation.

    SHA-256 rather than a slow password hash: the key has 192 bits of entropy, so there is
    nothing to brute-force, and every API request must look it up quickly.

    A publishable key (`gw_pk_…`) is public by design: it sits in the business's pages for the
    widget and refer-by-name lookup, and can do nothing else (`api.v1.auth`).
    """

    class Kind(models.TextChoices):
        SECRET = "secret"  # noqa: S105 (a kind of key, not a password)
        PUBLISHABLE = "publishable"

    public_id = models.CharField(max_length=32, unique=True, default=ids.new_key_id, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE)
    name = models.CharField(max_length=100, default="default")
    prefix = models.CharField(max_length=16)  # shown in lists so people can tell keys apart
    key_hash = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.SECRET)
    # The whole key, for publishable keys only: it is no secret, and the dashboard shows it
    # again in the snippet to paste. Always "" for a secret key.
    publishable_value = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind="publishable") | models.Q(publishable_value=""),
                name="apikey_secret_value_never_stored",
            )
        ]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name})"

    @property
    def is_publishable(self) -> bool:
        return self.kind == self.Kind.PUBLISHABLE


class Invitation(models.Model):
    """An emailed invitation to join a workspace with a role. Only the token's SHA-256 is
    stored; the link carries the token. Accepting it once uses it up."""

    public_id = models.CharField(
        max_length=32, unique=True, default=ids.new_tinv_id, editable=False
    )
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE)
    email = models.EmailField()
    role = models.CharField(max_length=16, choices=Membership.Role.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = TenantQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.email} to {self.workspace}"


class AuditEntry(models.Model):
    """One staff action: who did what to which row, when, and from where. Append-only."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor = models.CharField(max_length=254)  # the user's email when it was done (users go)
    action = models.CharField(max_length=64)  # such as reward.approve or program.pause
    subject = models.CharField(max_length=64, blank=True)  # a public id
    data = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()

    objects = TenantQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["workspace", "-created_at"], name="audit_by_time")]

    def __str__(self) -> str:
        return f"{self.actor} {self.action} {self.subject}"
