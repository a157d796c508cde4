"""The site's icons: drawn once with Pillow (`python -m icdsite.icons` writes them to static/img/, where they
are committed) and served at the addresses browsers and social sites ask for."""

from functools import cache
from pathlib import Path

from django.http import HttpResponse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

IMG_DIR = Path(__file__).resolve().parent.parent / "static" / "img"
ACCENT = (11, 107, 80)  # --accent of site.css
DARK = (11, 79, 60)
WHITE = (255, 255, 255)
PALE = (214, 245, 234)

# Served at the site's root, where browsers look without being told (/favicon.ico, /apple-touch-icon.png).
ROOT_ICONS = {"favicon.ico": "image/x-icon", "apple-touch-icon.png": "image/png"}


@cache
def _icon_bytes(name):
    return (IMG_DIR / name).read_bytes()


@require_GET
@cache_control(public=True, max_age=7 * 24 * 60 * 60)
def root_icon(request, name):
    return HttpResponse(_icon_bytes(name), content_type=ROOT_ICONS[name])


def _font(size, bold=True):
    from PIL import ImageFont

    path = Path("/usr/share/fonts/truetype/dejavu") / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")
    return ImageFont.truetype(path, size) if path.exists() else ImageFont.load_default(size)


def _mark(size):
    """The square mark: the accent colour with a white "icd", rounded corners."""
    from PIL import Image, ImageDraw

    scale = 4  # drawn large, then reduced, for smooth edges
    big = size * scale
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, big - 1, big - 1), radius=big // 6, fill=ACCENT)
    font = _font(int(big * 0.42))
    draw.text((big / 2, big * 0.53), "icd", font=font, fill=WHITE, anchor="mm")
    return image.resize((size, size), Image.LANCZOS)


def _social_card():
    """1200 x 630, the size social sites show: the name and what the site is, on the brand colour."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (1200, 630), DARK)
    draw = ImageDraw.Draw(image)
    draw.ellipse((900, -200, 1400, 300), fill=ACCENT)
    draw.ellipse((1000, 460, 1300, 760), fill=ACCENT)
    image.paste(_mark(160), (80, 80), _mark(160))
    draw.text((80, 300), "icdsite", font=_font(110), fill=WHITE)
    draw.text(
        (84, 440), "ICD-10-CM FY2026: every code, the official notes,", font=_font(38, bold=False), fill=PALE
    )
    draw.text((84, 492), "and plain-language articles", font=_font(38, bold=False), fill=PALE)
    return image


def draw():
    from PIL import Image

    IMG_DIR.mkdir(parents=True, exist_ok=True)
    _mark(256).save(IMG_DIR / "favicon.ico", sizes=[(16, 16), (32, 32), (48, 48)])
    # iOS rounds the corners itself and shows transparency as black: a full square.
    touch = Image.new("RGB", (180, 180), ACCENT)
    touch.paste(_mark(180), (0, 0), _mark(180))
    touch.save(IMG_DIR / "apple-touch-icon.png", optimize=True)
    _social_card().save(IMG_DIR / "og-image.png", optimize=True)


if __name__ == "__main__":
    draw()
