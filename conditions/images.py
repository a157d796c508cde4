"""Article illustrations: only real images get in, re-encoded without metadata.

An upload is opened with Pillow (its name and content type are ignored),
checked against a byte and a pixel limit, turned upright, stripped of EXIF,
XMP, ICC and text chunks by re-encoding, and stored under a random name.
"""

import uuid
import warnings
from io import BytesIO
from pathlib import Path
from xml.etree import ElementTree

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

# Pillow format -> (format written, file suffix). GIFs become PNGs: one frame, no palette tricks.
OUTPUT_FORMATS = {
    "PNG": ("PNG", ".png"),
    "JPEG": ("JPEG", ".jpg"),
    "GIF": ("PNG", ".png"),
    "WEBP": ("WEBP", ".webp"),
}
STORED_SUFFIXES = {".png", ".jpg", ".webp", ".svg"}
DESKTOP_WIDTH = 1600
PHONE_WIDTH = 640
BUNDLED_DIR = Path(__file__).resolve().parent / "sample_content"


class CleanedImage(ContentFile):
    """Image bytes this module produced: safe to store as they are; width and height when known."""

    def __init__(self, content, name=None, size=(None, None)):
        super().__init__(content, name=name)
        self.image_width, self.image_height = size


def illustration_path(instance, filename):
    """A random name: the uploader chooses neither the name nor the suffix."""
    suffix = Path(filename).suffix.lower()
    return f"illustrations/{uuid.uuid4().hex}{suffix if suffix in STORED_SUFFIXES else '.bin'}"


def clean_illustration(upload) -> CleanedImage:
    """Validate an uploaded file and return it re-encoded, or raise ValidationError."""
    max_bytes = settings.ILLUSTRATION_MAX_BYTES
    if upload.size is not None and upload.size > max_bytes:
        raise ValidationError(
            _("The image is larger than %(mb)s MB.") % {"mb": max_bytes // (1024 * 1024)}, code="too_large"
        )
    upload.seek(0)
    data = upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ValidationError(
            _("The image is larger than %(mb)s MB.") % {"mb": max_bytes // (1024 * 1024)}, code="too_large"
        )
    image = _open(data)
    written_format, suffix = OUTPUT_FORMATS[image.format]
    image = _prepare(image, written_format)
    image.thumbnail((DESKTOP_WIDTH, DESKTOP_WIDTH * 4))
    return CleanedImage(_encode(image, written_format), name=f"illustration{suffix}", size=image.size)


def phone_variant(cleaned: CleanedImage) -> CleanedImage | None:
    """A narrower copy for phones, or None when the image is narrow already (or not a bitmap)."""
    if Path(cleaned.name).suffix == ".svg":
        return None
    cleaned.seek(0)
    with Image.open(BytesIO(cleaned.read())) as image:
        if image.width <= PHONE_WIDTH:
            return None
        written_format = image.format
        image.load()
        image.thumbnail((PHONE_WIDTH, PHONE_WIDTH * 4))
        return CleanedImage(
            _encode(image, written_format),
            name=f"illustration-{PHONE_WIDTH}{Path(cleaned.name).suffix}",
            size=image.size,
        )


def bundled_illustration(path: Path) -> CleanedImage:
    """A trusted drawing shipped with the code (the sample SVGs), which Pillow cannot read.

    Only files inside conditions/sample_content/ qualify: uploads never come this way.
    """
    path = Path(path).resolve()
    if BUNDLED_DIR not in path.parents or path.suffix not in STORED_SUFFIXES:
        raise ValueError(f"{path} is not a bundled illustration")
    data = path.read_bytes()
    size = (None, None)
    if path.suffix == ".svg":
        root = ElementTree.fromstring(data)
        size = (int(root.get("width")), int(root.get("height")))
    return CleanedImage(data, name=f"illustration{path.suffix}", size=size)


def _open(data: bytes) -> Image.Image:
    invalid = ValidationError(_("Upload a valid PNG, JPEG, GIF or WebP image."), code="invalid_image")
    too_many_pixels = ValidationError(
        _("The image has more than %(mp)s million pixels.")
        % {"mp": settings.ILLUSTRATION_MAX_PIXELS // 1_000_000},
        code="too_many_pixels",
    )
    try:
        with warnings.catch_warnings():
            # Pillow's own bomb warning is redundant: the pixel limit below is lower.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(BytesIO(data))
        # The header is enough to refuse a decompression bomb before decoding any pixel.
        if image.width * image.height > settings.ILLUSTRATION_MAX_PIXELS:
            raise too_many_pixels
        if image.format not in OUTPUT_FORMATS:
            raise invalid
        image.verify()
        # verify() leaves the image unusable; decode it again, fully.
        image = Image.open(BytesIO(data))
        image.load()
    except ValidationError:
        raise
    except Image.DecompressionBombError as error:
        raise too_many_pixels from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as error:
        raise invalid from error
    return image


def _prepare(image: Image.Image, written_format: str) -> Image.Image:
    image = ImageOps.exif_transpose(image)
    if written_format == "JPEG":
        image = image.convert("RGB") if image.mode not in ("RGB", "L") else image
    elif image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert("RGBA")
    return image


def _encode(image: Image.Image, written_format: str) -> bytes:
    # Pillow copies EXIF, ICC profiles and text chunks from .info into some
    # formats: drop them all so nothing but pixels is written.
    image.info = {}
    out = BytesIO()
    options = {"JPEG": {"quality": 88, "optimize": True}, "WEBP": {"quality": 88}, "PNG": {"optimize": True}}
    image.save(out, format=written_format, **options[written_format])
    return out.getvalue()


# --- An upload kept across a form that did not pass its checks --------------------------------
PENDING_DIR = "illustrations/pending/"
PENDING_SALT = "conditions.images.pending"
PENDING_MAX_AGE = 24 * 60 * 60


def keep_pending(cleaned: CleanedImage) -> str:
    """Store a checked image until the form is sent again; returns a signed token naming it."""
    cleaned.seek(0)
    name = default_storage.save(f"{PENDING_DIR}{uuid.uuid4().hex}{Path(cleaned.name).suffix}", cleaned)
    return signing.dumps(name, salt=PENDING_SALT)


def pending_name(token: str) -> str | None:
    """The stored file a token from keep_pending names, if the token is genuine and the file is there."""
    try:
        name = signing.loads(token, salt=PENDING_SALT, max_age=PENDING_MAX_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(name, str) or not name.startswith(PENDING_DIR) or ".." in name:
        return None
    return name if default_storage.exists(name) else None


def take_pending(name: str) -> CleanedImage:
    """The kept image, checked again, and its temporary file removed."""
    with default_storage.open(name) as file:
        data = file.read()
    default_storage.delete(name)
    return clean_illustration(ContentFile(data, name=Path(name).name))
