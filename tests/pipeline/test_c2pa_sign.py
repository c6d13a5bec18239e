"""C2PA signing and verification of a PNG with a local test certificate (no build)."""

from __future__ import annotations

import dataclasses
import zlib

import imageio.v3 as iio
import numpy as np
import pytest
from click.testing import CliRunner

from reskin.cli import main
from reskin.core.errors import ReskinError
from reskin.pipeline.c2pa_manifest import episode_manifest, stylize_source_type
from reskin.pipeline.c2pa_sign import make_test_keys, sign_file, verify
from reskin.pipeline.provenance import EpisodeProvenance, UsedAsset
from reskin.render.aigc_meta import aigc_label, read_aigc, write_png_aigc
from reskin.scenes.episode import Episode
from reskin.scenes.series import SeriesConfig, StyleSettings

ASSET = UsedAsset(ref="mira@1", kind="character", version=1, license="CC-BY-4.0",
                  author="Ada", source="cast/mira/character.yaml", generator="humanoid",
                  content_hash="ab" * 32, used_as="skin")


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    return make_test_keys(tmp_path_factory.mktemp("keys"))


def signed_png(tmp_path, keys):
    png = tmp_path / "sheet.png"
    iio.imwrite(png, np.random.default_rng(1).integers(0, 255, (24, 32, 3), dtype=np.uint8))
    aigc = aigc_label("Studio", "reskin:1/sheet")
    write_png_aigc(png, png, aigc)
    prov = EpisodeProvenance(series="s", episode="ep01", content_id="reskin:1", assets=[ASSET],
                             aigc_base=aigc)
    series = SeriesConfig(root=tmp_path, name="s")
    manifest, ingredients = episode_manifest(series, Episode(id="ep01", title="t", shots=(),
                                                             file="e.yaml"),
                                             prov, png.name, aigc)
    sign_file(png, manifest, ingredients, cert=keys.cert, key=keys.key)
    return png


def test_a_signed_png_verifies_keeps_its_label_and_names_its_ingredients(tmp_path, keys):
    png = signed_png(tmp_path, keys)
    assert read_aigc(png)["ContentProducer"] == "Studio"  # the iTXt survives signing
    trusted, untrusted = verify(png, trust=keys.ca), verify(png)
    assert trusted.trusted and trusted.ok
    assert untrusted.ok and not untrusted.trusted and untrusted.state == "Valid"
    (ing,) = trusted.manifest["ingredients"]
    assert ing["metadata"]["reskin:contentHash"] == "ab" * 32
    assert ing["metadata"]["reskin:license"] == "CC-BY-4.0"
    aigc = next(a for a in trusted.manifest["assertions"] if a["label"] == "org.reskin.aigc")
    assert aigc["data"]["AIGC"]["ProduceID"] == "reskin:1/sheet"


def test_changing_the_picture_breaks_the_signature(tmp_path, keys):
    png = signed_png(tmp_path, keys)
    data = bytearray(png.read_bytes())
    i = data.index(b"IDAT")
    n = int.from_bytes(data[i - 4:i], "big")
    pixels = bytearray(zlib.decompress(data[i + 4:i + 4 + n]))
    pixels[40] ^= 0x10
    body = b"IDAT" + zlib.compress(bytes(pixels))
    chunk = (len(body) - 4).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")
    data[i - 4:i + 8 + n] = chunk  # a valid PNG with one pixel changed
    png.write_bytes(bytes(data))
    result = verify(png, trust=keys.ca)
    assert result.has_manifest and not result.ok
    assert CliRunner().invoke(main, ["provenance", "check", str(png)]).exit_code == 1


def test_an_unsigned_file_has_no_manifest_and_bad_keys_are_one_line(tmp_path, keys):
    png = tmp_path / "plain.png"
    iio.imwrite(png, np.zeros((8, 8, 3), np.uint8))
    assert not verify(png).has_manifest
    result = CliRunner().invoke(main, ["provenance", "check", str(png)])
    assert result.exit_code == 0 and "no manifest" in result.output
    bad = tmp_path / "bad.pem"
    bad.write_text("not a key")
    with pytest.raises(ReskinError) as err:
        sign_file(png, {"title": "x"}, [], cert=keys.cert, key=bad, where="series.yaml:9")
    assert "not PEM" in err.value.one_line() and "series.yaml:9" in err.value.one_line()


def test_keygen_says_the_pair_is_untrusted(tmp_path):
    result = CliRunner().invoke(main, ["provenance", "keygen", str(tmp_path / "k")])
    assert result.exit_code == 0 and "UNTRUSTED" in result.output
    assert (tmp_path / "k" / "signer-key.pem").stat().st_mode & 0o077 == 0


def test_the_stylizer_decides_the_digital_source_type(tmp_path):
    base = SeriesConfig(root=tmp_path, name="s")

    def with_style(**kw):
        return dataclasses.replace(base, style=dataclasses.replace(StyleSettings(), **kw))

    assert stylize_source_type(base).endswith("/algorithmicMedia")  # toon
    assert stylize_source_type(with_style(stylizer="none")) is None
    assert stylize_source_type(with_style(stylizer="diffusion", strength=0.5)).endswith(
        "/compositeWithTrainedAlgorithmicMedia")
    assert stylize_source_type(with_style(stylizer="diffusion", strength=1.0)).endswith(
        "/trainedAlgorithmicMedia")


def test_a_key_that_does_not_match_the_certificate_is_one_line(tmp_path, keys):
    other = make_test_keys(tmp_path / "other")
    png = tmp_path / "x.png"
    iio.imwrite(png, np.zeros((8, 8, 3), np.uint8))
    manifest = {"title": "x.png", "assertions": [{"label": "c2pa.actions", "data": {"actions": [
        {"action": "c2pa.created", "digitalSourceType":
         "http://cv.iptc.org/newscodes/digitalsourcetype/algorithmicMedia"}]}}]}
    before = png.read_bytes()
    with pytest.raises(ReskinError) as err:
        sign_file(png, manifest, [], cert=keys.cert, key=other.key, where="series.yaml:9")
    line = err.value.one_line()
    assert "\n" not in line and "series.yaml:9" in line and "signing" in line
    assert png.read_bytes() == before  # nothing half-signed
