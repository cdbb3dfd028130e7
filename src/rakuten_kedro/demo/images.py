"""Synthetic product photos for the demo data.

Each code draws its photo from a *visual prototype* (shape, colours, texture, object count,
layout). Prototypes are shared by pairs of codes that text tells apart easily (``VISUAL_GROUPS``),
while the codes of one text cluster (``text.TEXT_CLUSTERS``) always get different prototypes: so
photos alone confuse what text separates, and separate what text confuses — the reason fusion
beats both. Within a shared prototype the codes differ only by a small hue shift
(``CLASS_HUE_SHIFT``), which random colour jitter mostly hides.

Photos are drawn at low resolution with ``PIL.ImageDraw`` and upscaled, which keeps 3,000 photos
to a few seconds of drawing; everything is driven by the given ``numpy`` generator, so the same
seed gives the same pixels.
"""

from __future__ import annotations

import colorsys
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont


@dataclass(frozen=True)
class VisualPrototype:
    """How the photos of the codes sharing this prototype look.

    Attributes:
        shape: ``rect``, ``ellipse``, ``triangle``, ``star``, ``cross``, ``ring`` or ``diamond``.
        aspect: Width / height of one object.
        hue: Main hue in degrees.
        accent_hue: Hue of the texture / inset, in degrees.
        saturation: Range of the main colour's saturation (0–1).
        value: Range of the main colour's brightness (0–1).
        texture: ``plain``, ``band``, ``hstripes``, ``dstripes``, ``dots``, ``checker`` or
            ``inset`` (a smaller copy of the shape in the accent colour, like a screen).
        count: Inclusive range of the number of objects.
        layout: ``center``, ``row``, ``grid`` or ``scatter``.
        scale: Object height relative to the photo.
    """

    shape: str
    aspect: float
    hue: float
    accent_hue: float
    saturation: tuple[float, float]
    value: tuple[float, float]
    texture: str
    count: tuple[int, int]
    layout: str
    scale: float


VISUAL_PROTOTYPES: dict[str, VisualPrototype] = {
    "sepia_cover": VisualPrototype("rect", 0.7, 35, 20, (0.3, 0.5), (0.45, 0.7), "band",
                                   (1, 1), "center", 0.6),
    "bright_cover": VisualPrototype("rect", 0.7, 260, 60, (0.7, 0.95), (0.75, 0.95),
                                    "dstripes", (1, 1), "center", 0.6),
    "card_grid": VisualPrototype("rect", 0.72, 50, 0, (0.7, 0.9), (0.8, 1.0), "band",
                                 (4, 9), "grid", 0.24),
    "plush": VisualPrototype("ellipse", 0.85, 330, 200, (0.35, 0.6), (0.8, 1.0), "dots",
                             (1, 3), "scatter", 0.42),
    "board_box": VisualPrototype("rect", 1.0, 120, 40, (0.5, 0.8), (0.5, 0.8), "checker",
                                 (1, 1), "center", 0.62),
    "miniatures": VisualPrototype("triangle", 0.8, 80, 0, (0.25, 0.5), (0.3, 0.55), "plain",
                                  (6, 12), "scatter", 0.13),
    "game_case": VisualPrototype("rect", 0.8, 220, 0, (0.7, 0.9), (0.3, 0.5), "band",
                                 (1, 1), "center", 0.62),
    "screen": VisualPrototype("rect", 1.6, 270, 170, (0.1, 0.3), (0.12, 0.28), "inset",
                              (1, 1), "center", 0.42),
    "disc_lot": VisualPrototype("ring", 1.0, 0, 0, (0.65, 0.9), (0.6, 0.85), "plain",
                                (3, 6), "row", 0.24),
    "pastel_round": VisualPrototype("ellipse", 1.0, 180, 300, (0.25, 0.45), (0.88, 1.0),
                                    "hstripes", (1, 1), "center", 0.55),
    "tall_pastel": VisualPrototype("rect", 0.5, 15, 100, (0.3, 0.5), (0.85, 1.0),
                                   "hstripes", (1, 2), "row", 0.65),
    "wood_plank": VisualPrototype("rect", 2.0, 25, 30, (0.5, 0.7), (0.35, 0.6), "hstripes",
                                  (1, 2), "row", 0.32),
    "water_oval": VisualPrototype("ellipse", 1.5, 195, 190, (0.6, 0.9), (0.7, 0.95), "hstripes",
                                  (1, 1), "center", 0.45),
    "tool_cross": VisualPrototype("cross", 1.0, 160, 60, (0.6, 0.9), (0.45, 0.75), "dstripes",
                                  (1, 2), "scatter", 0.45),
}  # fmt: skip

#: Codes sharing a prototype: each pair is one code of a text cluster and one text-easy code.
VISUAL_GROUPS: dict[str, tuple[int, ...]] = {
    "sepia_cover": (10, 2280),
    "bright_cover": (2705, 2522),
    "card_grid": (2403, 1160),
    "plush": (1280, 1140),
    "board_box": (1281, 60),
    "miniatures": (1180, 1300),
    "game_case": (40, 50),
    "screen": (2905, 2060),
    "disc_lot": (2462, 1940),
    "pastel_round": (1301, 1920),
    "tall_pastel": (1320, 2220),
    "wood_plank": (2582, 1560),
    "water_oval": (2583, 1302),
    "tool_cross": (2585,),
}

#: code -> prototype name.
PROTOTYPE_OF_CODE: dict[int, str] = {
    code: name for name, codes in VISUAL_GROUPS.items() for code in codes
}

#: Hue difference (degrees) between the codes of one visual group: the only per-code cue.
CLASS_HUE_SHIFT = 17.0

#: Standard deviation (degrees) of the hue jitter shared by all objects of a photo; it is
#: larger than ``CLASS_HUE_SHIFT`` so that the cue is weak even for a model that reads hue well.
HUE_JITTER = 12.0

#: Standard deviation (degrees) of the extra hue jitter of each object and colour.
OBJECT_HUE_JITTER = 3.0

#: Photos are drawn at this resolution (or the target size if smaller), then upscaled.
DRAW_SIZE = 128

_PLACEHOLDER_TEXTS = ("NO IMAGE", "Image non disponible", "Pas de photo", "Photo à venir",
                      "Kein Bild")  # fmt: skip


def _rgb(hue: float, saturation: float, value: float) -> tuple[int, int, int]:
    red, green, blue = colorsys.hsv_to_rgb((hue % 360) / 360, saturation, value)
    return round(red * 255), round(green * 255), round(blue * 255)


def _unit_shape(shape: str) -> list[tuple[float, float]]:
    """Polygon of a shape inside the unit square centred on the origin."""
    if shape in ("ellipse", "ring"):
        return [(0.5 * math.cos(t), 0.5 * math.sin(t)) for t in np.linspace(0, 2 * math.pi, 32)]
    if shape == "triangle":
        return [(0.0, -0.5), (0.5, 0.5), (-0.5, 0.5)]
    if shape == "diamond":
        return [(0.0, -0.5), (0.5, 0.0), (0.0, 0.5), (-0.5, 0.0)]
    if shape == "star":
        return [
            ((0.5 if i % 2 == 0 else 0.22) * math.sin(i * math.pi / 5),
             -(0.5 if i % 2 == 0 else 0.22) * math.cos(i * math.pi / 5))
            for i in range(10)
        ]  # fmt: skip
    if shape == "cross":
        a, b = 0.17, 0.5
        return [(-a, -b), (a, -b), (a, -a), (b, -a), (b, a), (a, a), (a, b), (-a, b), (-a, a),
                (-b, a), (-b, -a), (-a, -a)]  # fmt: skip
    return [(-0.5, -0.5), (0.5, -0.5), (0.5, 0.5), (-0.5, 0.5)]


def _place(
    points: list[tuple[float, float]],
    centre: tuple[float, float],
    extent: tuple[float, float],
    angle: float,
) -> list[tuple[float, float]]:
    """Scale a unit polygon to ``extent`` (width, height), rotate it and move it to ``centre``."""
    (cx, cy), (w, h) = centre, extent
    cos, sin = math.cos(angle), math.sin(angle)
    return [(cx + x * w * cos - y * h * sin, cy + x * w * sin + y * h * cos) for x, y in points]


def _centres(layout: str, n: int, size: int, rng: np.random.Generator) -> list[tuple[float, float]]:
    """Object centres (pixels) for a layout, with random jitter."""
    jitter = rng.normal(0, 0.06 * size, size=(n, 2))
    if layout == "center":
        base = [(0.5, 0.5)] * n
    elif layout == "row":
        y = rng.uniform(0.35, 0.65)
        base = [((i + 0.5) / n * 0.8 + 0.1, y) for i in range(n)]
        jitter *= 0.3
    elif layout == "grid":
        cols = math.ceil(math.sqrt(n))
        rows = math.ceil(n / cols)
        base = [((i % cols + 0.5) / cols * 0.8 + 0.1, (i // cols + 0.5) / rows * 0.8 + 0.1)
                for i in range(n)]  # fmt: skip
        jitter *= 0.25
    else:
        base = [tuple(p) for p in rng.uniform(0.2, 0.8, size=(n, 2))]
    return [
        (bx * size + jx, by * size + jy) for (bx, by), (jx, jy) in zip(base, jitter, strict=True)
    ]


def _texture(
    kind: str,
    size: int,
    *,
    main: tuple[int, int, int],
    accent: tuple[int, int, int],
    centre: tuple[float, float],
    height: float,
    rng: np.random.Generator,
) -> Image.Image:
    """A canvas-sized layer painted with the object's colour and texture."""
    layer = Image.new("RGB", (size, size), main)
    draw = ImageDraw.Draw(layer)
    step = max(3, int(size / rng.uniform(10, 16)))
    if kind == "band":
        top = centre[1] + rng.uniform(-0.35, 0.1) * height
        draw.rectangle((0, top, size, top + 0.22 * height), fill=accent)
    elif kind == "hstripes":
        for y in range(int(rng.integers(step)), size, step):
            draw.line((0, y, size, y), fill=accent, width=max(1, step // 3))
    elif kind == "dstripes":
        for x in range(-size, size, step):
            draw.line((x, 0, x + size, size), fill=accent, width=max(1, step // 3))
    elif kind == "dots":
        radius = max(1, step // 4)
        for y in range(step // 2, size, step):
            for x in range(step // 2, size, step):
                draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=accent)
    elif kind == "checker":
        for y in range(0, size, step):
            for x in range(0, size, step):
                if (x // step + y // step) % 2 == 0:
                    draw.rectangle((x, y, x + step - 1, y + step - 1), fill=accent)
    return layer


def draw_product_photo(
    prototype: VisualPrototype,
    hue_shift: float,
    size: int,
    rng: np.random.Generator,
    hue_jitter: float = HUE_JITTER,
) -> Image.Image:
    """Draw one photo of a product whose code uses ``prototype``.

    Args:
        prototype: The visual prototype of the product's code.
        hue_shift: The code's hue offset inside its visual group (degrees).
        size: Side of the square RGB photo in pixels.
        rng: Source of every random choice (position, scale, rotation, colours, noise).
        hue_jitter: Standard deviation (degrees) of the photo's hue jitter; the larger it is
            against the codes' hue shift, the more the codes of a visual group look alike.

    Returns:
        A ``size`` x ``size`` RGB image.
    """
    canvas = min(size, DRAW_SIZE)
    if rng.random() < 0.85:  # studio-like light background, otherwise a random mid tone
        background = _rgb(rng.uniform(0, 360), rng.uniform(0, 0.12), rng.uniform(0.85, 1.0))
    else:
        background = _rgb(rng.uniform(0, 360), rng.uniform(0.1, 0.4), rng.uniform(0.45, 0.8))
    image = Image.new("RGB", (canvas, canvas), background)
    draw = ImageDraw.Draw(image)

    n_objects = int(rng.integers(prototype.count[0], prototype.count[1] + 1))
    zoom = rng.uniform(0.75, 1.25)
    unit = _unit_shape(prototype.shape)
    spin = math.pi if prototype.layout == "scatter" else math.radians(15)
    photo_hue = hue_shift + rng.normal(0, hue_jitter)
    for cx, cy in _centres(prototype.layout, n_objects, canvas, rng):
        height = prototype.scale * canvas * zoom * rng.uniform(0.85, 1.15)
        width = height * prototype.aspect * rng.uniform(0.9, 1.1)
        angle = rng.uniform(-spin, spin)
        hue = prototype.hue + photo_hue + rng.normal(0, OBJECT_HUE_JITTER)
        main = _rgb(hue, rng.uniform(*prototype.saturation), rng.uniform(*prototype.value))
        accent_hue = prototype.accent_hue + photo_hue + rng.normal(0, OBJECT_HUE_JITTER)
        accent = _rgb(accent_hue, rng.uniform(0.5, 0.9), rng.uniform(0.3, 0.95))
        polygon = _place(unit, (cx, cy), (width, height), angle)

        mask = Image.new("L", (canvas, canvas), 0)
        mask_draw = ImageDraw.Draw(mask)
        mask_draw.polygon(polygon, fill=255)
        if prototype.shape == "ring":
            mask_draw.polygon(_place(unit, (cx, cy), (width * 0.45, height * 0.45), angle), fill=0)
        texture = "plain" if prototype.texture == "inset" else prototype.texture
        image.paste(
            _texture(
                texture, canvas, main=main, accent=accent, centre=(cx, cy), height=height, rng=rng
            ),
            mask=mask,
        )
        if prototype.texture == "inset":
            draw.polygon(_place(unit, (cx, cy), (width * 0.8, height * 0.75), angle), fill=accent)
        if rng.random() < 0.5:
            outline = tuple(int(c * 0.5) for c in main)
            draw.polygon(polygon, outline=outline, width=max(1, canvas // 64))

    for _ in range(int(rng.poisson(0.6))):  # clutter unrelated to the code: logos, props
        cx, cy = rng.uniform(0, canvas, size=2)
        radius = rng.uniform(0.03, 0.1) * canvas
        colour = _rgb(rng.uniform(0, 360), rng.uniform(0, 1), rng.uniform(0, 1))
        shape = _unit_shape(("rect", "ellipse", "triangle")[int(rng.integers(3))])
        draw.polygon(
            _place(shape, (cx, cy), (radius * 2, radius), rng.uniform(0, math.pi)), fill=colour
        )

    pixels = np.asarray(image, dtype=np.float32)
    gain, offset = rng.uniform(0.85, 1.15), rng.uniform(-20, 20)  # exposure jitter
    pixels = pixels * gain + offset + rng.normal(0, rng.uniform(2, 10), size=pixels.shape)
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")
    if canvas != size:
        image = image.resize((size, size), Image.Resampling.BILINEAR)
    return image


def draw_uninformative_photo(size: int, rng: np.random.Generator) -> Image.Image:
    """A photo that says nothing about the product: blank white or a "no image" placeholder."""
    if rng.random() < 0.5:
        return Image.new("RGB", (size, size), (255, 255, 255))
    canvas = min(size, DRAW_SIZE)
    grey = int(rng.integers(200, 245))
    image = Image.new("RGB", (canvas, canvas), (grey, grey, grey))
    draw = ImageDraw.Draw(image)
    ink = int(rng.integers(90, 160))
    s = canvas / 128
    # A camera pictogram then a caption, as marketplaces show for products without a photo.
    draw.rounded_rectangle((40 * s, 38 * s, 88 * s, 74 * s), radius=6 * s, fill=(ink,) * 3)
    draw.rectangle((54 * s, 32 * s, 74 * s, 40 * s), fill=(ink,) * 3)
    draw.ellipse((53 * s, 45 * s, 75 * s, 67 * s), fill=(grey,) * 3)
    font = ImageFont.load_default(size=max(6, round(9 * s)))
    caption = _PLACEHOLDER_TEXTS[int(rng.integers(len(_PLACEHOLDER_TEXTS)))]
    draw.text((canvas / 2, 92 * s), caption, fill=(ink,) * 3, font=font, anchor="mm")
    if canvas != size:
        image = image.resize((size, size), Image.Resampling.BILINEAR)
    return image


def hue_shift_of_code(code: int, class_hue_shift: float = CLASS_HUE_SHIFT) -> float:
    """The code's hue offset inside its visual group, centred on the prototype's hue
    (``class_hue_shift`` degrees between the codes of a group)."""
    codes = VISUAL_GROUPS[PROTOTYPE_OF_CODE[code]]
    return (codes.index(code) - (len(codes) - 1) / 2) * class_hue_shift
