"""Draws the brand images in custom_components/dlms_cosem/brand/ (run: scripts/run python scripts/brand.py).

An electricity meter (blue case, digit display, lightning bolt) as the icon, and the icon beside the
name as the logo. Drawn with Pillow at four times the size and scaled down, so the edges are smooth and
every run gives the same images. Sizes follow Home Assistant's brands rules: icon.png 256x256,
icon@2x.png 512x512, logo.png landscape with its shortest side between 128 and 256 pixels.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

BRAND = Path(__file__).resolve().parent.parent / "custom_components" / "dlms_cosem" / "brand"
SUPERSAMPLE = 4
CASE = (3, 169, 244, 255)  # Home Assistant's primary blue
DISPLAY = (255, 255, 255, 255)
DIGIT = (33, 33, 33, 255)
BOLT = (255, 235, 59, 255)
TEXT = (33, 33, 33, 255)
LOGO_HEIGHT = 256
LOGO_GAP = 32


def icon(size: int) -> Image.Image:
    """The meter, ``size`` pixels square on a transparent background."""
    big = size * SUPERSAMPLE
    unit = big / 512  # the drawing is laid out on a 512 grid
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)

    def box(left: float, top: float, right: float, bottom: float) -> tuple[int, int, int, int]:
        return (round(left * unit), round(top * unit), round(right * unit), round(bottom * unit))

    draw.rounded_rectangle(box(32, 32, 480, 480), radius=round(72 * unit), fill=CASE)
    draw.rounded_rectangle(box(88, 104, 424, 248), radius=round(18 * unit), fill=DISPLAY)
    for digit in range(6):
        left = 120 + digit * 48
        draw.rectangle(box(left, 136, left + 36, 216), fill=DIGIT)
    bolt = [(292, 280), (192, 392), (252, 392), (220, 472), (320, 344), (260, 344)]
    draw.polygon([(round(x * unit), round(y * unit)) for x, y in bolt], fill=BOLT)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in (
        "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    ):
        if Path(path).exists():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size)


def logo() -> Image.Image:
    """The icon and the name on two lines, landscape, ``LOGO_HEIGHT`` pixels high."""
    scale = SUPERSAMPLE
    height = LOGO_HEIGHT * scale
    font = _font(88 * scale)
    small = _font(40 * scale)
    lines = [("DLMS/COSEM", font), ("smart meter", small)]
    measure = ImageDraw.Draw(Image.new("RGBA", (1, 1)))
    widths = [measure.textbbox((0, 0), text, font=face)[2] for text, face in lines]
    width = height + LOGO_GAP * scale + max(widths) + 16 * scale
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    image.alpha_composite(icon(LOGO_HEIGHT).resize((height, height), Image.Resampling.LANCZOS))
    draw = ImageDraw.Draw(image)
    left = height + LOGO_GAP * scale
    draw.text((left, 44 * scale), lines[0][0], font=font, fill=TEXT)
    draw.text((left + 4 * scale, 160 * scale), lines[1][0], font=small, fill=CASE)
    return image.resize((width // scale, LOGO_HEIGHT), Image.Resampling.LANCZOS)


def main() -> int:
    BRAND.mkdir(parents=True, exist_ok=True)
    images = {"icon.png": icon(256), "icon@2x.png": icon(512), "logo.png": logo()}
    for name, image in images.items():
        image.save(BRAND / name, optimize=True)
        print(f"{BRAND / name}: {image.width}x{image.height}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
