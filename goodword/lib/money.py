"""Money: integer minor units plus an ISO 4217 currency. No floats, no conversion."""

from __future__ import annotations

# Active ISO 4217 codes. Amounts are in each currency's minor unit (cents, yen, fils).
CURRENCIES = frozenset(
    [
        "AED",
        "AFN",
        "ALL",
        "AMD",
        "ANG",
        "AOA",
        "ARS",
        "AUD",
        "AWG",
        "AZN",
        "BAM",
        "BBD",
        "BDT",
        "BGN",
        "BHD",
        "BIF",
        "BMD",
        "BND",
        "BOB",
        "BRL",
        "BSD",
        "BTN",
        "BWP",
        "BYN",
        "BZD",
        "CAD",
        "CDF",
        "CHF",
        "CLP",
        "CNY",
        "COP",
        "CRC",
        "CUP",
        "CVE",
        "CZK",
        "DJF",
        "DKK",
        "DOP",
        "DZD",
        "EGP",
        "ERN",
        "ETB",
        "EUR",
        "FJD",
        "FKP",
        "GBP",
        "GEL",
        "GHS",
        "GIP",
        "GMD",
        "GNF",
        "GTQ",
        "GYD",
        "HKD",
        "HNL",
        "HTG",
        "HUF",
        "IDR",
        "ILS",
        "INR",
        "IQD",
        "IRR",
        "ISK",
        "JMD",
        "JOD",
        "JPY",
        "KES",
        "KGS",
        "KHR",
        "KMF",
        "KPW",
        "KRW",
        "KWD",
        "KYD",
        "KZT",
        "LAK",
        "LBP",
        "LKR",
        "LRD",
        "LSL",
        "LYD",
        "MAD",
        "MDL",
        "MGA",
        "MKD",
        "MMK",
        "MNT",
        "MOP",
        "MRU",
        "MUR",
        "MVR",
        "MWK",
        "MXN",
        "MYR",
        "MZN",
        "NAD",
        "NGN",
        "NIO",
        "NOK",
        "NPR",
        "NZD",
        "OMR",
        "PAB",
        "PEN",
        "PGK",
        "PHP",
        "PKR",
        "PLN",
        "PYG",
        "QAR",
        "RON",
        "RSD",
        "RUB",
        "RWF",
        "SAR",
        "SBD",
        "SCR",
        "SDG",
        "SEK",
        "SGD",
        "SHP",
        "SLE",
        "SOS",
        "SRD",
        "SSP",
        "STN",
        "SVC",
        "SYP",
        "SZL",
        "THB",
        "TJS",
        "TMT",
        "TND",
        "TOP",
        "TRY",
        "TTD",
        "TWD",
        "TZS",
        "UAH",
        "UGX",
        "USD",
        "UYU",
        "UZS",
        "VES",
        "VND",
        "VUV",
        "WST",
        "XAF",
        "XCD",
        "XCG",
        "XOF",
        "XPF",
        "YER",
        "ZAR",
        "ZMW",
        "ZWG",
    ]
)

# The largest amount accepted anywhere, in minor units: far above any real order, far below
# the 64-bit limit, so sums of many amounts cannot overflow a bigint.
MAX_AMOUNT = 10**12


def is_currency(code: str) -> bool:
    return code in CURRENCIES


# ISO 4217 minor-unit exponents that are not 2 (of CURRENCIES).
_NO_DECIMALS = frozenset(
    ["BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV",
     "XAF", "XOF", "XPF"]
)  # fmt: skip
_THREE_DECIMALS = frozenset(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"])


def decimals(currency: str) -> int:
    """How many digits of an amount are after the decimal point in `currency` (none in the
    pseudo-currency PTS: points are whole)."""
    if currency in _NO_DECIMALS or currency == "PTS":
        return 0
    return 3 if currency in _THREE_DECIMALS else 2


def major(amount: int, currency: str) -> str:
    """Minor units as a decimal string in major units: 1050 USD -> "10.50", -5 USD -> "-0.05",
    120 PTS -> "120" (points are whole)."""
    places = decimals(currency)
    if places == 0:
        return str(amount)
    # divmod of a negative amount floors (-5 -> -1 and 95): split the magnitude instead.
    sign, value = ("-", -amount) if amount < 0 else ("", amount)
    whole, part = divmod(value, 10**places)
    return f"{sign}{whole}.{part:0{places}d}"


# Symbols shown before an amount; other currencies show their code after it ("10.00 CHF").
_SYMBOLS = {
    "USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CAD": "CA$", "AUD": "A$", "NZD": "NZ$",
    "INR": "₹", "BRL": "R$", "MXN": "MX$", "KRW": "₩", "CNY": "CN¥", "ILS": "₪", "PTS": "",
}  # fmt: skip


def display(amount: int, currency: str) -> str:
    """An amount as people read it: 1050 USD -> "$10.50", -300 EUR -> "-€3.00", 1050 CHF ->
    "10.50 CHF", 120 PTS -> "120 points" (points are whole)."""
    sign, value = ("-", -amount) if amount < 0 else ("", amount)
    if currency == "PTS":
        return f"{sign}{value:,} points"
    whole, _, part = major(value, currency).partition(".")
    text = f"{int(whole):,}" + (f".{part}" if part else "")
    symbol = _SYMBOLS.get(currency)
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {currency}"


def parse_major(text: str, currency: str) -> int:
    """An amount typed in major units ("10", "10.5", "1,000.25") as minor units; ValueError
    with a message for people when it is not one."""
    cleaned = text.strip().replace(",", "").lstrip(_SYMBOLS.get(currency) or "\0")
    places = decimals(currency)
    whole, dot, part = cleaned.partition(".")
    if not whole.isdigit() and not (dot and whole == "" and part.isdigit()):
        raise ValueError(f"enter an amount such as {major(1050, currency)}")
    if part and (not part.isdigit() or len(part) > places):
        raise ValueError(f"{currency} amounts have at most {places} decimal places")
    fraction = (part or "").ljust(places, "0")[:places]
    amount: int = int(whole or "0") * 10**places + (int(fraction) if fraction else 0)
    if amount > MAX_AMOUNT:
        raise ValueError("that amount is too large")
    return amount
