"""Call signs: the only name most records ever show.

A call sign is unique in the system under a folded key (case, script look-alikes, marks and
spacing ignored), is never derived from the identity, and is either the applicant's preference,
when it is free, well-formed and does not contain one of his names, or drawn from the word list.
This module never sees more of an identity than the name skeletons it is given to compare.
"""

from __future__ import annotations

import secrets
import unicodedata
from collections.abc import Callable, Iterable

MIN_LENGTH = 2
MAX_LENGTH = 24

# Letters that look alike across Latin, Cyrillic and Greek fold to one Latin letter, so that a
# call sign cannot be impersonated with a homoglyph.
_HOMOGLYPHS = str.maketrans(
    {
        "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
        "с": "c", "т": "t", "у": "y", "х": "x", "і": "i", "ї": "i", "ј": "j", "ѕ": "s", "ԁ": "d",
        "ԛ": "q", "ԝ": "w", "ɡ": "g", "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k",
        "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ω": "w", "0": "o", "1": "l",
        "ı": "i", "ӏ": "l",
    }
)  # fmt: skip

WORDS = (
    "Alder Amber Anchor Anvil Arrow Aspen Atlas Aurora Badger Basalt Beacon Bear Birch Bison Blade "
    "Bolt Boreas Boulder Bramble Breaker Briar Bronze Buckler Buran Buzzard Cairn Canyon Caribou "
    "Cedar Chisel Cinder Cliff Cobalt Comet Condor Copper Corsair Cougar Coyote Crag Crane Crow "
    "Cyclone Dagger Delta Dingo Dolmen Drifter Dune Dusk Eagle Echo Ember Falcon Fathom Fennec Fern "
    "Ferret Fjord Flint Forge Fox Frost Gale Gannet Garnet Gecko Geyser Glacier Granite Graphite "
    "Grouse Gryphon Gull Harrier Hawk Hazel Heron Hickory Hornet Husky Ibex Icarus Iron Jackal "
    "Jaguar Jasper Javelin Juniper Kestrel Kite Kodiak Lance Larch Lark Lichen Linden Lynx Magpie "
    "Mallet Mantis Maple Marlin Marten Meteor Mink Mistral Monsoon Moose Moraine Nomad Oak Obsidian "
    "Ocelot Onyx Orca Osprey Otter Owl Panther Pelican Peregrine Petrel Pike Pine Plover Polar Puma "
    "Quarry Quartz Quill Raven Reef Ridge Rook Rowan Sable Saker Sandstone Sapper Scree Shale Shrike "
    "Sierra Skiff Slate Sleet Sparrow Spruce Squall Stag Starling Steppe Stoat Storm Summit Swift "
    "Talon Taiga Tern Thistle Thunder Tide Timber Topaz Tundra Typhoon Umber Vector Viper Vole "
    "Walrus Warden Wasp Willow Wolf Wolverine Wren Yew Zephyr Zenith"
).split()


class CallSignError(ValueError):
    """A preferred call sign cannot be used; the message says why."""


def call_sign_key(text: str) -> str:
    """The folded form that must be unique: NFKC, case-folded, marks and separators dropped,
    look-alike letters of other scripts mapped to Latin."""
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    kept = "".join(ch for ch in folded if unicodedata.category(ch)[0] in {"L", "N"})
    return kept.translate(_HOMOGLYPHS)


def check_call_sign(text: str) -> str:
    """Returns the call sign tidied (NFC, single spaces) or raises ``CallSignError``."""
    tidy = " ".join(unicodedata.normalize("NFC", text).split())
    if not MIN_LENGTH <= len(tidy) <= MAX_LENGTH:
        raise CallSignError(f"A call sign has {MIN_LENGTH} to {MAX_LENGTH} characters.")
    for ch in tidy:
        category = unicodedata.category(ch)
        if not (category[0] in {"L", "N"} or ch in " -'" or category == "Mn"):
            raise CallSignError("A call sign may hold letters, digits, spaces, hyphens and apostrophes only.")
    if not any(unicodedata.category(ch)[0] == "L" for ch in tidy):
        raise CallSignError("A call sign needs at least one letter.")
    return tidy


def is_identifying(call_sign: str, name_skeletons: Iterable[str], skeleton: Callable[[str], str]) -> bool:
    """True when the call sign equals or contains one of the person's names (compared as skeletons)."""
    mine = skeleton(call_sign)
    return any(len(name) >= 3 and name in mine for name in name_skeletons if name)


def generated_call_signs() -> Iterable[str]:
    """Random candidates from the word list: a bare word first, then with a number."""
    for _ in range(5):
        yield secrets.choice(WORDS)
    while True:
        yield f"{secrets.choice(WORDS)}-{secrets.randbelow(9900) + 100}"
