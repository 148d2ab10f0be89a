"""`EMAIL_URL` for the email providers that django-anymail speaks to: the URL read into Django's
`EMAIL_BACKEND` and anymail's `ANYMAIL` settings, or an ImproperlyConfigured that says what to
write. Read by `goodword/settings.py` at start-up; no Django settings are needed to call it.

One URL per provider, the secret in the user part (percent-encoded if it holds `@`, `:` or `/`):

    postmark://SERVER_TOKEN@                       sendgrid://API_KEY@
    mailgun://API_KEY@?domain=mg.example.com       mailgun://API_KEY@?domain=…&region=eu
    ses://?region=eu-west-1                        brevo://API_KEY@
    mailjet://API_KEY:SECRET_KEY@                  sparkpost://API_KEY@   (…?region=eu)

A host after the `@` replaces the provider's API host (`postmark://TOKEN@api.example.net`), and
`<scheme>+http://` speaks plain http to it: that is for a local stand-in in tests, never a real
account. Amazon SES takes its credentials from the AWS environment (boto3's usual chain) and
needs boto3: `pip install "goodword[ses]"`.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import SplitResult, parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class Provider:
    esp: str  # anymail's name: the backend module and the webhook URL's folder
    name: str  # what people call it
    api_url: str  # anymail's default, whose path we keep when a host is given
    credentials: tuple[str, ...]  # anymail setting names, from the URL's user and password
    example: str
    options: dict[str, str] = field(default_factory=dict)  # query name -> anymail setting
    regions: dict[str, str] = field(default_factory=dict)  # region=… -> API host


PROVIDERS: dict[str, Provider] = {
    "postmark": Provider(
        "postmark",
        "Postmark",
        "https://api.postmarkapp.com/",
        ("POSTMARK_SERVER_TOKEN",),
        "postmark://SERVER_TOKEN@",
        options={"message_stream": "POSTMARK_MESSAGE_STREAM"},
    ),
    "sendgrid": Provider(
        "sendgrid",
        "SendGrid",
        "https://api.sendgrid.com/v3/",
        ("SENDGRID_API_KEY",),
        "sendgrid://API_KEY@",
        options={"webhook_verification_key": "SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY"},
    ),
    "mailgun": Provider(
        "mailgun",
        "Mailgun",
        "https://api.mailgun.net/v3",
        ("MAILGUN_API_KEY",),
        "mailgun://API_KEY@?domain=mg.example.com&region=eu",
        options={
            "domain": "MAILGUN_SENDER_DOMAIN",
            "webhook_signing_key": "MAILGUN_WEBHOOK_SIGNING_KEY",
        },
        regions={"us": "api.mailgun.net", "eu": "api.eu.mailgun.net"},
    ),
    "ses": Provider(
        "amazon_ses",
        "Amazon SES",
        "",
        (),
        "ses://?region=eu-west-1",
        options={"configuration_set": "AMAZON_SES_CONFIGURATION_SET_NAME"},
    ),
    "brevo": Provider(
        "brevo", "Brevo", "https://api.brevo.com/v3/", ("BREVO_API_KEY",), "brevo://API_KEY@"
    ),
    "mailjet": Provider(
        "mailjet",
        "Mailjet",
        "https://api.mailjet.com/v3.1/",
        ("MAILJET_API_KEY", "MAILJET_SECRET_KEY"),
        "mailjet://API_KEY:SECRET_KEY@",
    ),
    "sparkpost": Provider(
        "sparkpost",
        "SparkPost",
        "https://api.sparkpost.com/api/v1/",
        ("SPARKPOST_API_KEY",),
        "sparkpost://API_KEY@",
        regions={"us": "api.sparkpost.com", "eu": "api.eu.sparkpost.com"},
    ),
}

SCHEMES = frozenset(PROVIDERS) | {f"{s}+http" for s in PROVIDERS if PROVIDERS[s].api_url}
# A provider's API that stops answering must not hold a sender for ever (as EMAIL_TIMEOUT).
TIMEOUT = 30


@dataclass(frozen=True)
class Configured:
    backend: str  # EMAIL_BACKEND
    anymail: dict[str, Any]  # ANYMAIL, without the webhook secret
    provider: Provider


def provider_settings(url: str) -> Configured:
    """Read a provider's EMAIL_URL; raise ImproperlyConfigured naming what to write."""
    parts = urlsplit(url)
    provider = PROVIDERS[parts.scheme.removesuffix("+http")]
    fail = _failing(provider)
    if parts.path not in {"", "/"}:
        fail("takes no path")
    anymail: dict[str, Any] = {"REQUESTS_TIMEOUT": TIMEOUT}
    anymail.update(_credentials(provider, parts, fail))
    query = _query(parts, fail)
    region = query.pop("region", "")
    if provider.esp == "amazon_ses":
        if not region:
            fail("needs the AWS region, such as ?region=eu-west-1")
        if importlib.util.find_spec("boto3") is None:
            raise ImproperlyConfigured(
                'EMAIL_URL ses:// needs boto3: install Goodword with pip install "goodword[ses]"'
            )
        anymail["AMAZON_SES_CLIENT_PARAMS"] = {"region_name": region}
    else:
        anymail[f"{provider.esp.upper()}_API_URL"] = _api_url(provider, parts, region, fail)
    for name, value in query.items():
        if name not in provider.options:
            known = ", ".join(
                ["region", *provider.options] if provider.regions else provider.options
            )
            fail(f"does not take {name}= (it takes: {known or 'nothing'})")
        anymail[provider.options[name]] = value
    return Configured(f"anymail.backends.{provider.esp}.EmailBackend", anymail, provider)


def _failing(provider: Provider) -> Any:
    def fail(why: str) -> None:
        raise ImproperlyConfigured(
            f"EMAIL_URL for {provider.name} {why}; write it like {provider.example}"
        )

    return fail


def _credentials(provider: Provider, parts: SplitResult, fail: Any) -> dict[str, str]:
    given = [unquote(v) for v in (parts.username, parts.password) if v]
    wanted = provider.credentials
    if len(given) != len(wanted):
        if not wanted:
            fail("takes no credentials in the URL: boto3 finds them in the AWS environment")
        what = " and ".join(s.split("_", 1)[1].lower().replace("_", " ") for s in wanted)
        fail(f"needs the {what} before the @")
    return dict(zip(wanted, given, strict=True))


def _query(parts: SplitResult, fail: Any) -> dict[str, str]:
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    query = dict(pairs)
    if len(query) != len(pairs):
        fail("names an option twice")
    for name, value in query.items():
        if not value:
            fail(f"has an empty {name}=")
    return query


def _api_url(provider: Provider, parts: SplitResult, region: str, fail: Any) -> str:
    default = urlsplit(provider.api_url)
    try:
        parts.port  # noqa: B018 (read for its check: a port out of range raises)
    except ValueError:
        fail("has a port that is not from 1 to 65535")
    host = parts.netloc.rpartition("@")[2]
    if region:
        if not provider.regions:
            fail("does not take region=")
        if region not in provider.regions:
            fail(f"takes region={' or region='.join(provider.regions)}, not {region!r}")
        if host:
            fail("takes a region= or an API host, not both")
        host = provider.regions[region]
    scheme = "http" if parts.scheme.endswith("+http") else "https"
    return f"{scheme}://{host or default.netloc}{default.path}"
