"""The one error a channel (SMS, Slack) raises when a message did not get through."""

from __future__ import annotations

# Reasons end up on message rows and in the dashboard: long provider answers are cut.
MAX_REASON = 300


class ChannelError(Exception):
    """A channel did not take the message. `reason` says why in plain words.

    `retry` is True when sending the same message later may work (timeouts, refused or reset
    connections, 408, 429, 5xx) and False when it will not (4xx, a refused destination, a
    number that is not E.164). `unsubscribed` is True when the provider says the recipient
    opted out (Twilio 21610): the caller must stop sending to that number. `provider_code` is
    the provider's own error code ("21211"), `status` the HTTP status, `retry_after` the
    seconds a 429 or 503 asked us to wait, each when known.
    """

    code = "channel_error"

    def __init__(
        self,
        reason: str,
        retry: bool,
        *,
        unsubscribed: bool = False,
        provider_code: str = "",
        status: int | None = None,
        retry_after: int | None = None,
    ) -> None:
        reason = plain(reason)
        reason = reason if len(reason) <= MAX_REASON else reason[: MAX_REASON - 1] + "…"
        super().__init__(reason)
        self.reason = reason
        self.retry = retry
        self.unsubscribed = unsubscribed
        self.provider_code = provider_code
        self.status = status
        self.retry_after = retry_after


def plain(text: str) -> str:
    """`text` on one line, without control characters (a provider's answer can hold anything,
    and PostgreSQL refuses NUL in a text column)."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


def should_retry(status: int) -> bool:
    """Whether an HTTP status means "try again later" rather than "this will never work"."""
    return status in (408, 429) or status >= 500


def retry_after(headers: dict[str, str]) -> int | None:
    """The whole seconds of a Retry-After header; None when absent or an HTTP date (rare for
    the providers we call, and a date would need a clock here)."""
    raw = headers.get("retry-after", "").strip()
    if not raw.isdigit():
        return None
    return min(int(raw), 86400)
