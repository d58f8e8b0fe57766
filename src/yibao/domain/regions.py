"""GB/T 2260 administrative region codes, from python-stdnum's location table."""

from __future__ import annotations

from functools import lru_cache

from stdnum import numdb

from yibao.domain import errors


@lru_cache(maxsize=4096)
def region_name(code: str) -> str | None:
    """The current name of a region code, or None when the code is unknown."""
    if not (isinstance(code, str) and len(code) == 6 and code.isdigit()):
        return None
    parts = numdb.get("cn/loc").info(code)
    info = {k: v for _, props in parts for k, v in props.items()}
    if "county" not in info:
        return None
    current = info["county"].split(",")[-1]
    if current.startswith("["):
        span, current = current[1:].split("]")
        if span.split("-")[1]:  # retired code
            return None
    if code.endswith("0000"):
        return info["province"]
    if code[2:] in ("0100", "0200") and current in ("市辖区", "县"):
        return info["province"]
    return current


def validate_region(code: str) -> str:
    if region_name(code) is None:
        raise errors.RegionUnknown()
    return code


def parents(code: str) -> list[str]:
    """The region itself, its prefecture and its province, most specific first."""
    chain = [code, code[:4] + "00", code[:2] + "0000"]
    return list(dict.fromkeys(chain))


def prefix(region: str) -> str:
    """The significant digits of a code: 110000 → 11, 210200 → 2102; every place inside starts with them."""
    while region.endswith("00"):
        region = region[:-2]
    return region


MUNICIPALITIES = ("11", "12", "31", "50")  # Beijing, Tianjin, Shanghai, Chongqing: pooled city-wide


def pooling_region(code: str) -> str:
    """The pooling region (统筹区) of a place: its prefecture-level city; a municipality as a whole."""
    return code[:2] + "0000" if code[:2] in MUNICIPALITIES else code[:4] + "00"


def within(region: str, place: str) -> bool:
    """Whether a place lies inside a region: 110105 is inside 110000, 210202 inside 210200, 410100 inside 410000."""
    return place.startswith(prefix(region))
