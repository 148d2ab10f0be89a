"""Replies by text (`POST /hooks/sms/inbound`): the URL to set as "A message comes in" on the
Twilio number (or Messaging Service) of SMS_URL.

Only Twilio may call it: the request must carry Twilio's `X-Twilio-Signature`, made with the
auth token of SMS_URL over SITE_URL + the path and the POST parameters (403 otherwise). A STOP
keyword suppresses the sender's number for texts, START lifts that (`messaging/stops.py`);
anything else is ignored. The answer is always an empty TwiML document: Twilio itself answers
STOP and START with its own confirmation, and we send nothing more.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from goodword.messaging import phones, stops
from goodword.messaging.channels.sms import verify_twilio_signature

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


@csrf_exempt
@require_POST
def sms_inbound(request: HttpRequest) -> HttpResponse:
    api = getattr(settings, "SMS_API", None)
    if not api:
        return HttpResponse("SMS is not configured", status=404, content_type="text/plain")
    signature = request.headers.get("X-Twilio-Signature", "")
    # Twilio signs the URL it was given, the public one: SITE_URL, not what a proxy passed on.
    url = settings.SITE_URL + request.get_full_path()
    if not signature or not verify_twilio_signature(
        url, request.POST, signature, api["auth_token"]
    ):
        return HttpResponse("invalid signature", status=403, content_type="text/plain")
    body = request.POST.get("Body", "")
    if phones.is_stop(body) or phones.is_start(body):
        try:
            number = phones.normalize_phone(request.POST.get("From", ""), region=None)
        except phones.InvalidPhone:
            number = ""  # a short code or a sender id: no number we text
        if number and phones.is_stop(body):
            stops.stop_number(number=number, now=timezone.now())
        elif number:
            stops.start_number(number=number)
    return HttpResponse(EMPTY_TWIML, content_type="text/xml")
