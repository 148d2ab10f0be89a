"""The share channels of the portal's one-tap buttons: each turns the advocate's message into
the address of that channel's own compose screen (an app, or its web page)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

# The message box holds at most this many characters (an SMS app takes about as much).
MESSAGE_MAX = 1000


@dataclass(frozen=True)
class Channel:
    key: str  # a referrals.Share channel
    label: str  # a brand name: the same in every language


# In the order the portal shows them.
CHANNELS = (
    Channel("whatsapp", "WhatsApp"),
    Channel("email", "Email"),
    Channel("sms", "SMS"),
    Channel("telegram", "Telegram"),
    Channel("messenger", "Messenger"),
    Channel("facebook", "Facebook"),
    Channel("x", "X"),
    Channel("linkedin", "LinkedIn"),
)
KEYS = frozenset(c.key for c in CHANNELS)


def tagged(link: str, channel: str) -> str:
    """The advocate's link as shared on `channel`: the click then counts for that channel."""
    return f"{link}?via={channel}"


def message_for(text: str, link: str, channel: str) -> str:
    """The advocate's message with their link tagged for `channel`; the link is added at the end
    when they took it out (a share without the link brings nobody)."""
    text = text.replace("\r\n", "\n").strip()
    mine = tagged(link, channel)
    if link in text:
        # The link as the box shows it, or already tagged for another channel.
        return re.sub(re.escape(link) + r"(\?via=[a-z]*)?", lambda _: mine, text)
    return f"{text} {mine}".strip()


def _q(value: str) -> str:
    return quote(value, safe="")


def share_url(channel: str, *, text: str, link: str, subject: str) -> str:
    """Where the `channel` button sends the advocate. `text` holds the tagged link (from
    `message_for`); channels that take a link apart get it on its own."""
    mine = tagged(link, channel)
    without_link = text.replace(mine, "").strip()
    if channel == "email":
        return f"mailto:?subject={_q(subject)}&body={_q(text)}"
    if channel == "sms":
        # `sms:?&body=` is the form both iOS and Android read.
        return f"sms:?&body={_q(text)}"
    if channel == "whatsapp":
        return f"https://wa.me/?text={_q(text)}"
    if channel == "telegram":
        return f"https://t.me/share/url?url={_q(mine)}&text={_q(without_link)}"
    if channel == "messenger":
        return f"fb-messenger://share/?link={_q(mine)}"
    if channel == "facebook":
        # Facebook takes only the link; what is said is typed there.
        return f"https://www.facebook.com/sharer/sharer.php?u={_q(mine)}"
    if channel == "x":
        return f"https://x.com/intent/tweet?text={_q(text)}"
    if channel == "linkedin":
        return f"https://www.linkedin.com/sharing/share-offsite/?url={_q(mine)}"
    raise ValueError(f"unknown share channel {channel!r}")
