"""The 27 Rakuten product type codes, their training counts and top-level groups.

Counts are the published training-set counts (docs/method.md §2); the demo generator follows their
proportions. Names and groups are community readings, not official labels.
"""

from __future__ import annotations

PRDTYPECODE_COUNTS: dict[int, int] = {
    10: 3116, 40: 2508, 50: 1681, 60: 832, 1140: 2671, 1160: 3953, 1180: 764,
    1280: 4870, 1281: 2070, 1300: 5045, 1301: 807, 1302: 2491, 1320: 3241, 1560: 5073,
    1920: 4303, 1940: 803, 2060: 4993, 2220: 824, 2280: 4760, 2403: 4774, 2462: 1421,
    2522: 4989, 2582: 2589, 2583: 10209, 2585: 2496, 2705: 2761, 2905: 872,
}  # fmt: skip

#: The codes in ascending order: label index ``i`` is ``PRDTYPECODES[i]``.
PRDTYPECODES: tuple[int, ...] = tuple(sorted(PRDTYPECODE_COUNTS))

PRDTYPECODE_NAMES: dict[int, str] = {
    10: "used books", 40: "imported video games", 50: "gaming accessories", 60: "consoles",
    1140: "figurines", 1160: "trading cards", 1180: "tabletop wargames",
    1280: "children's toys", 1281: "board games", 1300: "RC models and drones",
    1301: "baby items", 1302: "outdoor play", 1320: "childcare", 1560: "furniture",
    1920: "household linen", 1940: "grocery", 2060: "decoration", 2220: "pet supplies",
    2280: "magazines", 2403: "book and comic lots", 2462: "used game lots",
    2522: "stationery", 2582: "garden furniture", 2583: "pools",
    2585: "garden tools and DIY", 2705: "new books", 2905: "PC games (download)",
}  # fmt: skip

TOP_LEVEL_GROUPS: dict[str, tuple[int, ...]] = {
    "Books": (10, 2280, 2403, 2522, 2705),
    "Entertainment": (40, 50, 60, 1140, 1160, 1180, 2462, 2905),
    "Child": (1280, 1281, 1300, 1301, 1302, 1320),
    "Household": (1560, 1920, 1940, 2060, 2220, 2582, 2583, 2585),
}

#: code -> top-level group name.
GROUP_OF_CODE: dict[int, str] = {
    code: group for group, codes in TOP_LEVEL_GROUPS.items() for code in codes
}


def code_label(code: int) -> str:
    """The code followed by its name (``"1280 children's toys"``), for figures and tables.

    Args:
        code: A product type code; one outside the 27 is shown alone.

    Returns:
        The label.
    """
    name = PRDTYPECODE_NAMES.get(int(code))
    return f"{int(code)} {name}" if name else str(int(code))
