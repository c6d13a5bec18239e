"""series.yaml: the settings every episode of a series shares."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from reskin.core.colors import parse_color
from reskin.core.errors import ReskinError
from reskin.core.fields import Fields, load_yaml
from reskin.scenes.speech.voice import Voice

ENGINES = ("cycles", "workbench", "eevee")
PASS_NAMES = ("depth", "normal", "instance", "motion", "uv")
"""The passes the renderer can write beside the beauty (reskin.render.stylize.base)."""
DENOISE_AUTO_MAX_SAMPLES = 64
"""``denoise: auto`` denoises at up to this many samples (bench/denoise.py: past it the noise
left is below what the stylizers show)."""
STYLIZERS = ("toon", "diffusion", "none")
CONTROL_KINDS = ("depth", "normal", "lineart")
LABEL_POSITIONS = ("top-left", "top-right", "top", "bottom-left", "bottom-right", "bottom")
LABEL_TEXT = {"zh": "AI生成", "en": "AI-generated"}
"""The explicit label's default wording per ``labels.language`` (GB 45438-2025 names both
"人工智能生成" and "AI生成" as suitable prompts)."""
SIGNING_ALGS = ("es256", "es384", "es512", "ps256", "ps384", "ps512", "ed25519")


@dataclass(frozen=True)
class RenderSettings:
    engine: str = "cycles"
    """Blender engine: cycles (CPU here, few samples), workbench, or eevee (needs GL)."""
    samples: int = 4
    """Cycles samples per pixel (with adaptive sampling: the most a pixel gets). 4, denoised,
    is closer to a 512-sample reference than 32 undenoised at a sixth of the time or less
    (bench/denoise.py); `reskin init`'s 1080x1920 series take 3: the fewest that are as close
    as 32 raw on both crops the bench measures (1 holds on a face, not on flat colour with
    sharp edges), 7x faster a full frame."""
    denoise: bool | None = None
    """Cycles: OpenImageDenoise on the beauty with albedo and normal guides; None ('auto'):
    on when ``samples`` <= :data:`DENOISE_AUTO_MAX_SAMPLES`."""
    denoise_prefilter: str = "fast"
    """How the denoiser's albedo and normal guides are cleaned first: 'fast' (not at all: the
    guides are nearly noise-free even at few samples) or 'accurate' (denoised too; about 1 dB
    more at 4 samples, and the denoiser costs several times as long)."""
    noise_threshold: float = 0.01
    """Cycles adaptive sampling: a pixel stops once its noise is under this (0: off, every
    pixel gets ``samples``). It acts from some 32 samples up; 0.05 there lost 3 dB."""
    passes: tuple[str, ...] = ()
    """Passes written besides those the stylizer needs (see :mod:`reskin.scenes.passes`)."""

    def denoises(self) -> bool:
        """Whether Cycles denoises the beauty at these settings."""
        return self.samples <= DENOISE_AUTO_MAX_SAMPLES if self.denoise is None else self.denoise


@dataclass(frozen=True)
class ControlNetSettings:
    kind: str
    """Which pass-derived image drives it: depth, normal or lineart."""
    path: Path
    """Local diffusers ControlNet folder (relative paths are from the series root)."""
    scale: float = 1.0
    """Conditioning scale."""
    where: str | None = field(default=None, compare=False)
    """file:line of ``path`` in the style file, for the error when the folder is checked."""


@dataclass(frozen=True)
class LoraSettings:
    path: Path
    """A local LoRA file (.safetensors, diffusers/PEFT or kohya layout)."""
    scale: float = 1.0
    """How strongly it applies (the LoRA's own alpha/rank scaling times this)."""
    character: str | None = None
    """The character it is for (recorded with the style); None: the whole series' look."""
    where: str | None = field(default=None, compare=False)
    """file:line of ``path`` in the style file, for the error when the file is checked."""


@dataclass(frozen=True)
class IPAdapterSettings:
    path: Path
    """Local folder of a plain IP-Adapter (``subfolder/weight_name`` inside it)."""
    weight_name: str = "ip-adapter_sd15.safetensors"
    subfolder: str = "models"
    image_encoder: Path | None = None
    """Local CLIP image encoder folder; None: ``path/subfolder/image_encoder``."""
    scale: float = 0.6
    references: Path | None = None
    """A folder of reference images; None when ``continuity``."""
    continuity: bool = False
    """``references: continuity``: each character's reskin-made reference renders."""
    where: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class StyleSettings:
    stylizer: str = "toon"
    """Which stylizer runs after rendering: the built-in 'toon' (no model), 'diffusion'
    (needs ``model``), or 'none'."""
    background: tuple[float, float, float] = (0.93, 0.89, 0.82)
    """Backdrop colour behind the cast until sets arrive."""
    levels: int = 4
    """Tone bands of the cel shading."""
    ink: float = 1.0
    """Ink line strength, 0 to 1."""
    grain: float = 0.0
    """Paper grain printed in texture space (the UV pass), 0 to 1 (0: none)."""
    loras: tuple[LoraSettings, ...] = ()
    """diffusion: LoRA files (per character or for the series' look), fused into the model."""
    ip_adapter: IPAdapterSettings | None = None
    """diffusion: an IP-Adapter steered by reference images (a folder, or continuity renders)."""
    model: Path | None = None
    """diffusion: local diffusers pipeline folder (relative paths are from the series root)."""
    controlnets: tuple[ControlNetSettings, ...] = ()
    prompt: str = ""
    negative_prompt: str = ""
    seed: int = 0
    strength: float = 0.5
    """diffusion: how much of the render is re-imagined, 0..1."""
    guidance: float = 7.5
    """diffusion: classifier-free guidance scale (<= 1 turns it off)."""
    steps: int = 20
    size: int = 768
    """diffusion: long side in pixels to diffuse at (never upscales)."""
    coherence: str = "exact"
    """'exact' carries frames (toon: tone, bands and ink) forward by the motion pass; 'none'
    stylizes every frame alone."""
    refresh: int = 0
    """diffusion: every this many frames, kept pixels are re-diffused lightly so they follow
    lighting changes (0: never)."""
    model_where: str | None = field(default=None, compare=False)
    """file:line of ``model`` in the style file, for the error when the folder is checked."""


@dataclass(frozen=True)
class SoundSettings:
    music: Path | None = None
    """A music bed (WAV/FLAC/OGG inside the series folder), looped or trimmed to each episode
    and ducked under dialogue."""
    ambience: Path | None = None
    """A room-tone/ambience bed, treated like ``music`` but quieter."""
    loudness: float = -14.0
    """Integrated loudness of every episode's mix in LUFS (BS.1770)."""
    ducking: float = -12.0
    """dB the beds drop by while someone speaks."""
    music_where: str | None = field(default=None, compare=False)
    """file:line of ``music`` in series.yaml, for errors found when the file is read."""
    ambience_where: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class SubtitleSettings:
    burn: bool = False
    """Draw the lines into the episode's picture (the SRT and the embedded track stay)."""
    font: Path | None = None
    """A font file; None ('auto'): the first CJK-capable font installed."""
    size: float = 0.045
    """Text height as a fraction of the frame's shorter side."""
    font_where: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class LabelSettings:
    """``labels:``: the AI-content labels of GB 45438-2025 (docs/labels.md)."""

    explicit: bool | None = None
    """The visible notice on the opening frames; None ('auto'): on when the series stylizes."""
    language: str = "zh"
    """zh or en: picks the default ``text``."""
    text: str | None = None
    """The notice's wording; None: :data:`LABEL_TEXT` of ``language``."""
    seconds: float = 2.0
    """How long the opening notice shows (the standard asks at least 2 s)."""
    size: float = 0.05
    """Text height as a fraction of the frame's shorter side (at least 0.05)."""
    position: str = "top-left"
    """Where in the safe area: one of :data:`LABEL_POSITIONS`."""
    corner_mark: bool = False
    """Keep a mark on every frame after the opening notice (the standard allows it)."""
    mark_position: str = "top-left"
    implicit: bool = True
    """Write the AIGC metadata (content attribute, producer, content id) into MP4s and PNGs."""
    producer: str = ""
    """ContentProducer: the studio's name or its service-provider code."""
    where: str | None = field(default=None, compare=False)

    @property
    def wording(self) -> str:
        return self.text or LABEL_TEXT[self.language]


@dataclass(frozen=True)
class SigningSettings:
    """``signing:``: the key and certificate chain C2PA manifests are signed with."""

    cert: Path
    """PEM chain: the signing certificate first, then its issuers (not the root)."""
    key: Path
    """PEM private key (PKCS#8)."""
    alg: str = "es256"
    trust: Path | None = None
    """Optional PEM of trust anchors used when reskin verifies its own output."""
    where: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class LicensePolicy:
    """``licenses:``: the SPDX licences an episode's assets may carry; None allows any."""

    allow: tuple[str, ...] | None = None
    where: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class SeriesConfig:
    root: Path
    name: str
    width: int = 1080
    height: int = 1920
    fps: int = 24
    render: RenderSettings = field(default_factory=RenderSettings)
    style: StyleSettings = field(default_factory=StyleSettings)
    sound: SoundSettings = field(default_factory=SoundSettings)
    subtitles: SubtitleSettings = field(default_factory=SubtitleSettings)
    narrator: Voice | None = None
    """The voice of ``speaker: narrator`` lines (voice-over); None: the default voice."""
    labels: LabelSettings = field(default_factory=LabelSettings)
    signing: SigningSettings | None = None
    licenses: LicensePolicy = field(default_factory=LicensePolicy)

    @property
    def explicit_label(self) -> bool:
        """Whether episodes get the visible notice (``labels.explicit``, 'auto': stylized)."""
        on = self.labels.explicit
        return self.style.stylizer != "none" if on is None else on

    @property
    def library_dir(self) -> Path:
        return self.root / ".reskin"

    @property
    def out_dir(self) -> Path:
        return self.root / "out"

    def episode_ids(self) -> list[str]:
        return sorted(p.stem for p in (self.root / "episodes").glob("*.yaml"))


def _model_folder(f: Fields, key: str, root: Path) -> Path:
    """A model folder (diffusers, ControlNet): relative paths stay inside the series; an
    absolute one may name a shared model store (keyed by content, so it is reproducible)."""
    from reskin.core.paths import series_path

    return series_path(root, f.get(key, str), fields=f, key=key, what="model folder",
                       kind="folder", must_exist=False, allow_absolute=True)


def _diffusion_style(s: Fields, root: Path) -> dict:
    """The diffusion fields of ``style:``; folders are checked when the stylizer loads them."""
    def unit(v: float) -> str | None:
        return None if 0 <= v <= 1 else "must be 0..1"

    model = s.get("model", str, None)
    nets = []
    for c in s.list_of_fields("controlnets", []):
        nets.append(ControlNetSettings(
            kind=c.get("kind", str, choices=CONTROL_KINDS),
            path=_model_folder(c, "path", root),
            scale=c.get("scale", float, 1.0,
                        check=lambda v: None if 0 <= v <= 4 else "must be 0..4"),
            where=f"{c.file}:{c.items['path'].line}",
        ))
        c.done()
    loras = []
    for lf in s.list_of_fields("loras", []):
        from reskin.core.paths import series_path

        loras.append(LoraSettings(
            path=series_path(root, lf.get("path", str), fields=lf, key="path", what="LoRA file",
                             must_exist=False, allow_absolute=True),
            scale=lf.get("scale", float, 1.0,
                         check=lambda v: None if -4 <= v <= 4 else "must be -4..4"),
            character=lf.get("character", str, None),
            where=f"{lf.file}:{lf.items['path'].line}",
        ))
        lf.done()
    return {
        "loras": tuple(loras),
        "ip_adapter": _ip_adapter(s, root),
        "model": _model_folder(s, "model", root) if model else None,
        "model_where": f"{s.file}:{s.items['model'].line}" if model else None,
        "controlnets": tuple(nets),
        "prompt": s.get("prompt", str, ""),
        "negative_prompt": s.get("negative_prompt", str, ""),
        "seed": s.get("seed", int, 0, check=lambda v: None if 0 <= v < 2**63 else "must be >= 0"),
        "strength": s.get("strength", float, 0.5, check=unit),
        "guidance": s.get("guidance", float, 7.5,
                          check=lambda v: None if 0 <= v <= 50 else "must be 0..50"),
        "steps": s.get("steps", int, 20,
                       check=lambda v: None if 1 <= v <= 1000 else "must be 1..1000"),
        "size": s.get("size", int, 768,
                      check=lambda v: None if 64 <= v <= 4096 else "must be 64..4096"),
        "coherence": s.get("coherence", str, "exact", choices=("exact", "none")),
        "refresh": s.get("refresh", int, 0,
                         check=lambda v: None if 0 <= v <= 10000 else "must be >= 0"),
    }


def _ip_adapter(s: Fields, root: Path) -> IPAdapterSettings | None:
    """``ip_adapter:`` of a diffusion style (paths checked when the stylizer loads them)."""
    from reskin.core.paths import series_path

    f = s.sub("ip_adapter", None)
    if f is None:
        return None

    def path(key: str, what: str) -> Path:
        return series_path(root, f.get(key, str), fields=f, key=key, what=what, kind="folder",
                           must_exist=False, allow_absolute=True)

    refs = f.get("references", str, None)
    out = IPAdapterSettings(
        path=path("path", "IP-Adapter folder"),
        weight_name=f.get("weight_name", str, IPAdapterSettings.weight_name),
        subfolder=f.get("subfolder", str, IPAdapterSettings.subfolder),
        image_encoder=path("image_encoder", "image encoder folder")
        if f.has("image_encoder") else None,
        scale=f.get("scale", float, 0.6,
                    check=lambda v: None if 0 <= v <= 4 else "must be 0..4"),
        references=path("references", "reference image folder")
        if refs not in (None, "continuity") else None,
        continuity=refs == "continuity",
        where=f"{f.file}:{s.items['ip_adapter'].line}",
    )
    if refs is None:
        f.error("required: a folder of reference images, or 'continuity'", "references")
    f.done()
    return out


def parse_style(s: Fields, root: Path) -> StyleSettings:
    """A style mapping (series.yaml's ``style:`` or a whole styles/NAME.yaml)."""
    bg = s.get("background", str, None)
    style = StyleSettings(
        stylizer=s.get("stylizer", str, "toon", choices=STYLIZERS),
        background=parse_color(bg, s, "background") if bg else StyleSettings.background,
        levels=s.get("levels", int, 4,
                     check=lambda v: None if 2 <= v <= 16 else "must be 2..16"),
        ink=s.get("ink", float, 1.0, check=lambda v: None if 0 <= v <= 1 else "must be 0..1"),
        grain=s.get("grain", float, 0.0,
                    check=lambda v: None if 0 <= v <= 1 else "must be 0..1"),
        **_diffusion_style(s, root),
    )
    if style.stylizer == "diffusion" and style.model is None:
        s.error("required when stylizer is 'diffusion' (a local diffusers model folder)",
                "model")
    s.done()
    return style


def load_style(root: str | Path, name: str) -> StyleSettings:
    """The named style ``root/styles/<name>.yaml``."""
    root = Path(root)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}", name):
        raise ReskinError(f"bad style name {name!r}", field="--style")
    path = root / "styles" / f"{name}.yaml"
    if not path.exists():
        known = sorted(p.stem for p in (root / "styles").glob("*.yaml"))
        raise ReskinError(f"no style {name!r} (styles: {', '.join(known) or 'none'})",
                          file=path)
    return parse_style(load_yaml(path), root)


def find_series_root(start: str | Path, *, walk_up: bool = True) -> Path:
    """The folder to open as a series for ``start``, the one place a series is located.

    ``start`` must exist (else a one-line ReskinError). With ``walk_up`` (as git finds a
    repository) it is the first of ``start`` and the folders above it holding series.yaml, or
    ``start`` itself when none does, so that reading it reports what is missing.
    """
    start = Path(start)
    if not start.is_dir():
        raise ReskinError(f"no series at {start} (the folder does not exist)")
    if walk_up and not (start / "series.yaml").exists():
        for folder in start.resolve().parents:
            if (folder / "series.yaml").exists():
                return folder
    return start


def _series_file(f: Fields, key: str, root: Path, what: str) -> tuple[Path | None, str | None]:
    """An optional file named by ``key``, relative to and inside the series folder, existing;
    returns (path, file:line of the key)."""
    rel = f.get(key, str, None)
    if rel is None:
        return None, None
    from reskin.core.paths import series_path

    path = series_path(root, rel, fields=f, key=key, what=what)
    return path, f"{f.file}:{f.items[key].line}"


def _sound(f: Fields, root: Path) -> SoundSettings:
    music, music_where = _series_file(f, "music", root, "music file")
    ambience, ambience_where = _series_file(f, "ambience", root, "ambience file")
    return SoundSettings(
        music=music, ambience=ambience, music_where=music_where, ambience_where=ambience_where,
        loudness=f.get("loudness", float, -14.0,
                       check=lambda v: None if -40 <= v <= -5 else "must be -40..-5 LUFS"),
        ducking=f.get("ducking", float, -12.0,
                      check=lambda v: None if -40 <= v <= 0 else "must be -40..0 dB"),
    )


def _subtitles(f: Fields | None, root: Path) -> SubtitleSettings:
    if f is None:
        return SubtitleSettings()
    burn = f.get("burn", bool, False)
    font = f.get("font", str, "auto")
    size = f.get("size", float, 0.045,
                 check=lambda v: None if 0.01 <= v <= 0.2 else "must be 0.01..0.2")
    where = f"{f.file}:{f.items['font'].line}" if f.has("font") else f"{f.file}:{f.line}"
    path = None
    if font != "auto":
        from reskin.core.paths import series_path

        path = series_path(root, font, fields=f, key="font", what="font file")
    f.done()
    return SubtitleSettings(burn=burn, font=path, size=size, font_where=where)


def _narrator(f: Fields | None) -> Voice | None:
    """``narrator: {voice: {...}}``: the voice-over's voice (see docs/character-format.md)."""
    if f is None:
        return None
    from reskin.scenes.speech.voice import parse_voice

    v = f.sub("voice", None)
    voice = parse_voice(v) if v is not None else Voice()
    f.done()
    return voice


def _labels(f: Fields | None) -> LabelSettings:
    if f is None:
        return LabelSettings()
    explicit = f.get("explicit", (bool, str), "auto",
                     check=lambda v: None if v in (True, False, "auto") else
                     "expected true, false or 'auto'")

    def text_ok(v: str) -> str | None:
        return None if v.strip() and len(v) <= 40 else "must be 1..40 characters"

    out = LabelSettings(
        explicit=None if explicit == "auto" else explicit,
        language=f.get("language", str, "zh", choices=tuple(LABEL_TEXT)),
        text=f.get("text", str, None, check=text_ok),
        seconds=f.get("seconds", float, 2.0, check=lambda v: None if 2 <= v <= 60 else
                      "must be 2..60 (GB 45438-2025 asks at least 2 s)"),
        size=f.get("size", float, 0.05, check=lambda v: None if 0.05 <= v <= 0.2 else
                   "must be 0.05..0.2 (GB 45438-2025 asks at least 5% of the shorter side)"),
        position=f.get("position", str, "top-left", choices=LABEL_POSITIONS),
        corner_mark=f.get("corner_mark", bool, False),
        mark_position=f.get("mark_position", str, "top-left", choices=LABEL_POSITIONS),
        implicit=f.get("implicit", bool, True),
        producer=f.get("producer", str, "", check=lambda v: None if len(v) <= 200 else
                       "at most 200 characters"),
        where=f"{f.file}:{f.line}",
    )
    f.done()
    return out


def _signing(f: Fields | None, root: Path) -> SigningSettings | None:
    if f is None:
        return None
    from reskin.core.paths import series_path

    def pem(key: str, what: str) -> Path:
        return series_path(root, f.get(key, str), fields=f, key=key, what=what,
                           allow_absolute=True)

    out = SigningSettings(
        cert=pem("cert", "certificate chain (PEM)"), key=pem("key", "private key (PEM)"),
        alg=f.get("alg", str, "es256", choices=SIGNING_ALGS),
        trust=pem("trust", "trust anchors (PEM)") if f.has("trust") else None,
        where=f"{f.file}:{f.line}")
    f.done()
    return out


def _licenses(f: Fields | None) -> LicensePolicy:
    if f is None:
        return LicensePolicy()
    allow = None
    if f.has("allow"):
        items = f.get("allow", list)
        allow = []
        for item in items:
            if not isinstance(item.value, str) or not re.fullmatch(r"[A-Za-z0-9.+-]{1,64}",
                                                                   item.value):
                f.error("expected a list of SPDX licence ids (e.g. CC0-1.0, CC-BY-4.0)",
                        "allow", item.line)
            allow.append(item.value)
        allow = tuple(allow)
    where = f"{f.file}:{f.items['allow'].line}" if f.has("allow") else f"{f.file}:{f.line}"
    f.done()
    return LicensePolicy(allow=allow, where=where)


def _denoise(r: Fields) -> bool | None:
    value = r.get("denoise", (bool, str), "auto")
    if isinstance(value, str):
        if value != "auto":
            r.error(f"expected true, false or auto, got {value!r}", "denoise")
        return None
    return value


def _passes(r: Fields) -> tuple[str, ...]:
    out = []
    for item in r.get("passes", list, []):
        if item.value not in PASS_NAMES:
            r.error(f"expected a list of passes ({', '.join(PASS_NAMES)}), got {item.value!r}",
                    "passes", item.line)
        out.append(item.value)
    return tuple(sorted(set(out), key=PASS_NAMES.index))


def load_series(root: str | Path) -> SeriesConfig:
    """Read and validate ``root/series.yaml``."""
    root = find_series_root(root, walk_up=False)
    path = root / "series.yaml"
    if not path.exists():
        raise ReskinError("not a reskin series: series.yaml is missing (run `reskin init`)",
                          file=root)
    f = load_yaml(path, display=str(path))
    name = f.get("name", str)
    width, height = f.numbers("resolution", 2, default=(1080.0, 1920.0))
    for key, v in (("resolution", width), ("resolution", height)):
        if v != int(v) or not 16 <= v <= 8192 or int(v) % 2:
            f.error("width and height must be even whole numbers between 16 and 8192", key)
    fps = f.get("fps", int, 24, check=lambda v: None if 1 <= v <= 120 else "must be 1..120")
    render = RenderSettings()
    if (r := f.sub("render", None)) is not None:
        render = RenderSettings(
            engine=r.get("engine", str, "cycles", choices=ENGINES),
            samples=r.get("samples", int, 4,
                          check=lambda v: None if 1 <= v <= 4096 else "must be 1..4096"),
            denoise=_denoise(r),
            denoise_prefilter=r.get("denoise_prefilter", str, "fast",
                                    choices=("fast", "accurate")),
            noise_threshold=r.get("noise_threshold", float, 0.01,
                                  check=lambda v: None if 0 <= v <= 1 else "must be 0..1"),
            passes=_passes(r),
        )
        r.done()
    style = StyleSettings()
    if (s := f.sub("style", None)) is not None:
        style = parse_style(s, root)
    sound = _sound(f, root)
    subtitles = _subtitles(f.sub("subtitles", None), root)
    narrator = _narrator(f.sub("narrator", None))
    labels = _labels(f.sub("labels", None))
    signing = _signing(f.sub("signing", None), root)
    licenses = _licenses(f.sub("licenses", None))
    f.done()
    return SeriesConfig(root=root, name=name, width=int(width), height=int(height), fps=fps,
                        render=render, style=style, sound=sound, subtitles=subtitles,
                        narrator=narrator, labels=labels, signing=signing, licenses=licenses)
