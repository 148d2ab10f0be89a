"""Posts to a Slack incoming webhook, or any endpoint that takes the same JSON (Mattermost,
Discord's `/slack` webhooks, Rocket.Chat...), through `goodword.lib.outbound`.

The URL comes from a merchant: `check_slack_url` vets it when it is saved (https only, the
SSRF guard's rules), and `outbound.post` applies the guard again at every post, since the
name may resolve elsewhere by then.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from goodword.lib import outbound
from goodword.messaging.channels.errors import ChannelError, plain, retry_after, should_retry

TIMEOUT = 10.0
MAX_ANSWER = 4096
_SHOWN = 120  # characters of an error answer kept in the reason ("channel_is_archived")


def check_slack_url(url: str) -> str | None:
    """Say why `url` cannot be a Slack-compatible webhook; None when it can (no DNS)."""
    if urlsplit(url.strip()).scheme.lower() != "https":
        return "use an https URL"
    return outbound.check_url(url)


def post_slack(
    *, url: str, text: str, blocks: list[dict[str, Any]] | None = None, timeout: float = TIMEOUT
) -> None:
    """Post `text` (the fallback shown in notifications) and optional Block Kit `blocks`.

    Raise ChannelError: retry=True for no answer, 408, 429 and 5xx; retry=False for a refused
    destination, a redirect (never followed) and other 4xx, such as Slack's 404 `no_service`
    (the webhook was removed) or 410 `channel_is_archived`.
    """
    payload: dict[str, Any] = {"text": text}
    if blocks is not None:
        payload["blocks"] = blocks
    headers = {"Content-Type": "application/json; charset=utf-8"}
    body = json.dumps(payload, ensure_ascii=False).encode()
    try:
        response = outbound.post(
            url, body=body, headers=headers, timeout=timeout, max_body=MAX_ANSWER
        )
    except outbound.Blocked as exc:
        raise ChannelError(f"the Slack URL is refused: {exc.reason}", retry=False) from exc
    except outbound.OutboundError as exc:
        raise ChannelError(f"the Slack URL did not answer: {exc.reason}", retry=True) from exc
    if 200 <= response.status < 300:
        return
    raise ChannelError(
        _reason(response),
        retry=should_retry(response.status),
        status=response.status,
        retry_after=retry_after(response.headers),
    )


def _reason(response: outbound.Response) -> str:
    if 300 <= response.status < 400:
        return f"the Slack URL answered with a redirect (HTTP {response.status}), not followed"
    said = plain(response.body.decode("utf-8", "replace"))[:_SHOWN]
    return f"the Slack URL answered HTTP {response.status}" + (f": {said}" if said else "")
