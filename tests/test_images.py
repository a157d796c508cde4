"""Illustration uploads: only real images, within limits, re-encoded without metadata, under a random name."""

from io import BytesIO

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, PngImagePlugin

from conditions.images import (
    PHONE_WIDTH,
    bundled_illustration,
    clean_illustration,
    illustration_path,
    phone_variant,
)


def image_bytes(size=(800, 600), fmt="PNG", **save_options):
    out = BytesIO()
    Image.new("RGB", size, (200, 80, 40)).save(out, format=fmt, **save_options)
    return out.getvalue()


def upload(data, name="picture.png", content_type="image/png"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def test_a_php_file_renamed_png_is_refused():
    with pytest.raises(ValidationError) as error:
        clean_illustration(upload(b"<?php system($_GET['c']); ?>\n", name="shell.png"))
    assert error.value.code == "invalid_image"


def test_a_truncated_image_is_refused():
    with pytest.raises(ValidationError) as error:
        clean_illustration(upload(image_bytes()[:200]))
    assert error.value.code == "invalid_image"


def test_an_image_with_too_many_pixels_is_refused_before_decoding():
    # 12,000 x 12,000 of one colour compresses to a small file: a decompression bomb.
    data = image_bytes(size=(12_000, 12_000))
    assert len(data) < 5 * 1024 * 1024
    with pytest.raises(ValidationError) as error:
        clean_illustration(upload(data))
    assert error.value.code == "too_many_pixels"


def test_a_file_over_the_size_limit_is_refused(settings):
    settings.ILLUSTRATION_MAX_BYTES = 50_000
    noisy = Image.effect_noise((400, 400), 90).convert("RGB")
    out = BytesIO()
    noisy.save(out, format="PNG")
    assert len(out.getvalue()) > 50_000
    with pytest.raises(ValidationError) as error:
        clean_illustration(upload(out.getvalue()))
    assert error.value.code == "too_large"


def test_a_valid_jpeg_is_re_encoded_without_metadata():
    exif = Image.Exif()
    exif[0x010F] = "Camera maker"  # Make
    exif[0x8825] = {2: (51.0, 30.0, 0.0)}  # GPS latitude
    data = image_bytes(fmt="JPEG", exif=exif.tobytes(), icc_profile=b"fake-profile")
    assert Image.open(BytesIO(data)).getexif()

    cleaned = clean_illustration(upload(data, name="holiday.jpg", content_type="image/jpeg"))

    result = Image.open(BytesIO(cleaned.read()))
    assert result.format == "JPEG" and result.size == (800, 600)
    assert not result.getexif() and "icc_profile" not in result.info and "exif" not in result.info
    assert cleaned.name == "illustration.jpg"


def test_text_chunks_of_a_png_are_dropped():
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "<?php system($_GET['c']); ?>")
    data = image_bytes(pnginfo=info)
    assert b"<?php" in data
    cleaned = clean_illustration(upload(data))
    assert b"<?php" not in cleaned.read()


def test_the_file_name_is_never_the_uploaders():
    first = illustration_path(None, "illustration.png")
    assert first.startswith("illustrations/") and first.endswith(".png")
    assert first != illustration_path(None, "illustration.png")
    assert illustration_path(None, "../../evil.php").endswith(".bin")
    assert "evil" not in illustration_path(None, "../../evil.php")


def test_wide_images_get_a_phone_variant():
    cleaned = clean_illustration(upload(image_bytes(size=(3000, 1500))))
    assert Image.open(BytesIO(cleaned.read())).size == (1600, 800)
    small = phone_variant(cleaned)
    assert Image.open(BytesIO(small.read())).size == (PHONE_WIDTH, 320)
    assert phone_variant(clean_illustration(upload(image_bytes(size=(300, 200))))) is None


def test_only_bundled_files_bypass_the_checks(tmp_path):
    outside = tmp_path / "x.svg"
    outside.write_text("<svg onload='alert(1)'/>")
    with pytest.raises(ValueError):
        bundled_illustration(outside)
