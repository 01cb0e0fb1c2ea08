"""The words demo accounts are made of: names, bios, captions and comments."""

from __future__ import annotations


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST_NAMES = _words(
    "Ada Alan Amara Bruno Chen Clara Dmitri Elena Farah Felix Grace Hiro Ines Jonas Kemi "
    "Lars Leila Mateo Maya Nadia Omar Priya Quinn Rosa Sami Sofia Tariq Uma Viktor Yara"
)
LAST_NAMES = _words(
    "Abe Berg Costa Diallo Evans Fischer Garcia Haddad Ito Jensen Kowalski Larsen Moreau "
    "Nakamura Okafor Patel Quispe Rossi Silva Tanaka Novak Varga Weber Yilmaz Zhou"
)
PLACES = _words(
    "Lisbon Osaka Nairobi Montreal Oslo Lima Seoul Marseille Reykjavik Hanoi Valparaiso"
)
BIOS = (
    "Chasing light in {place}.",
    "Weekend photographer, weekday coffee drinker.",
    "Film at heart, phone in pocket. {place}.",
    "Mostly skies, sometimes dogs.",
    "Street corners of {place}.",
    "Learning to see, one frame a day.",
    "Mountains > beaches.",
    "Architecture and shadows. Based in {place}.",
    "",
    "Colours I liked today.",
)
CAPTIONS = (
    "Golden hour never gets old.",
    "Found this on my walk today",
    "Colours of the weekend",
    "Morning light over the rooftops",
    "Not edited, promise",
    "Somewhere between here and there",
    "Shapes and shadows",
    "Throwback to last summer",
    "The view from the window",
    "A quiet corner of the city",
    "",
    "Trying out a new lens",
    "Sunday mood",
    "Blue hour",
)
COMMENTS = (
    "Wow, love this!",
    "Those colours!",
    "Beautiful shot.",
    "Where is this?",
    "Stunning",
    "This made my day",
    "Great composition",
    "Need this as a wallpaper",
    "So good 👏",
    "The light here is perfect",
    "Incredible, as always",
    "Take me there!",
)
CELEBRITY_NAME = "Celeste Marlowe"
CELEBRITY_BIO = "Photographer. Traveller. Thank you for following the journey ✨"
