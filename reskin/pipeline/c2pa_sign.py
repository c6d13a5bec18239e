"""C2PA manifests: sign a published MP4 or PNG in place, verify one, make a test key pair.

c2pa-python (the Content Authenticity Initiative's c2pa-rs) embeds the manifest (a JUMBF
``uuid`` box in MP4, a ``caBX`` chunk in PNG) and binds it to the file's bytes by hash, so
changing any byte of the picture or sound makes verification fail. Signing is offline: the
studio's key and certificate chain (``signing:`` in series.yaml); no timestamp authority.
"""

from __future__ import annotations

import datetime as _dt
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

from reskin.core.atomic import atomic_path
from reskin.core.errors import ReskinError

MIME = {".mp4": "video/mp4", ".png": "image/png"}


@dataclass(frozen=True)
class TestKeys:
    """The files :func:`make_test_keys` wrote."""

    cert: Path
    """The signer's chain (its certificate, then the test CA's), PEM."""
    key: Path
    """The signer's private key, PKCS#8 PEM."""
    ca: Path
    """The test CA's certificate: a trust anchor only for checking your own files."""


def make_test_keys(folder: Path, *, name: str = "reskin test signer") -> TestKeys:
    """A throwaway CA and an ES256 (P-256) signing certificate it issued, valid one year, in
    ``folder``. Nobody trusts this CA: manifests it signs verify but read as untrusted."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    def dn(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                          x509.NameAttribute(NameOID.ORGANIZATION_NAME, "reskin (untrusted test)")])

    def usage(sign: bool) -> x509.KeyUsage:
        return x509.KeyUsage(digital_signature=sign, content_commitment=False,
                             key_encipherment=False, data_encipherment=False,
                             key_agreement=False, key_cert_sign=not sign, crl_sign=not sign,
                             encipher_only=False, decipher_only=False)

    now = _dt.datetime.now(_dt.UTC) - _dt.timedelta(hours=1)
    ca_key, ee_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(
        ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(dn("reskin untrusted test CA"))
          .issuer_name(dn("reskin untrusted test CA")).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now)
          .not_valid_after(now + _dt.timedelta(days=730))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(usage(False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
          .sign(ca_key, hashes.SHA256()))
    # C2PA wants an end-entity certificate (not self-signed, not a CA) for signing, with
    # digitalSignature and an allowed extended key usage
    ee = (x509.CertificateBuilder().subject_name(dn(name)).issuer_name(ca.subject)
          .public_key(ee_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now).not_valid_after(now + _dt.timedelta(days=365))
          .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
          .add_extension(usage(True), critical=True)
          .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), False)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ee_key.public_key()), False)
          .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
              ca_key.public_key()), False)
          .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    keys = TestKeys(cert=folder / "signer-chain.pem", key=folder / "signer-key.pem",
                    ca=folder / "test-ca.pem")
    for path, data in ((keys.cert, ee.public_bytes(pem) + ca.public_bytes(pem)),
                       (keys.key, ee_key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption())),
                       (keys.ca, ca.public_bytes(pem))):
        with atomic_path(path) as tmp:
            tmp.write_bytes(data)
    keys.key.chmod(0o600)
    return keys


def _read_pem(path: Path, what: str, where: str | None) -> bytes:
    try:
        data = Path(path).read_bytes()
    except OSError:
        raise ReskinError(f"cannot read the {what} {path}", file=where,
                          field="signing") from None
    if b"-----BEGIN" not in data:
        raise ReskinError(f"the {what} {path} is not PEM", file=where, field="signing")
    return data


def sign_file(path: Path, manifest: dict, ingredients: list[tuple[dict, bytes]], *,
              cert: Path, key: Path, alg: str = "es256", where: str | None = None) -> None:
    """Embed a C2PA manifest in ``path`` (MP4 or PNG), in place (atomically).

    manifest    : the manifest definition (claim_generator_info, title, assertions...)
    ingredients : (ingredient definition, the ingredient's bytes) for each ingredient
    cert, key   : PEM chain and private key; ``where``: series.yaml file:line for errors
    """
    import c2pa

    path = Path(path)
    mime = MIME.get(path.suffix.lower())
    if mime is None:
        raise ReskinError("C2PA signing takes .mp4 or .png files", file=path)
    chain, pkey = _read_pem(cert, "certificate chain", where), _read_pem(key, "private key",
                                                                         where)
    try:
        signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(alg, chain, pkey, None))
        builder = c2pa.Builder(manifest)
        for definition, data in ingredients:
            builder.add_ingredient(definition, "application/octet-stream", io.BytesIO(data))
        with open(path, "rb") as src, atomic_path(path) as tmp, open(tmp, "w+b") as dst:
            builder.sign(signer, mime, src, dst)
    except c2pa.C2paError as exc:
        why = " ".join(str(exc).split())[:300]  # c2pa's messages span lines; ours is one
        raise ReskinError(f"C2PA signing of {path.name} failed ({why}); check signing.cert, "
                          "signing.key and signing.alg", file=where or path,
                          field="signing") from None


@dataclass
class Verification:
    """What :func:`verify` found in a file."""

    path: str
    has_manifest: bool
    state: str | None = None
    """c2pa's validation state: Trusted, Valid (signature good, signer not trusted), Invalid."""
    failures: list[str] = field(default_factory=list)
    """Validation failure codes (``signingCredential.untrusted`` alone is not a failure)."""
    manifest: dict | None = None
    """The active manifest as c2pa reports it."""

    @property
    def ok(self) -> bool:
        """The manifest binds to these bytes and its signature checks (trusted or not)."""
        return self.has_manifest and self.state in ("Valid", "Trusted")

    @property
    def trusted(self) -> bool:
        return self.state == "Trusted"

    def to_dict(self) -> dict:
        return {"path": self.path, "has_manifest": self.has_manifest, "state": self.state,
                "ok": self.ok, "trusted": self.trusted, "failures": self.failures,
                "manifest": self.manifest}


def verify(path: Path, *, trust: Path | None = None) -> Verification:
    """Verify the C2PA manifest of ``path``; ``trust``: PEM trust anchors (e.g. the test CA
    of :func:`make_test_keys`) that make a signature by them read as Trusted."""
    import c2pa

    path = Path(path)
    if not path.is_file():
        raise ReskinError("no such file", file=path)
    settings = {"verify": {"verify_trust": True}}
    if trust is not None:
        settings["trust"] = {"trust_anchors": _read_pem(trust, "trust anchors", None).decode()}
    try:
        context = c2pa.Context(c2pa.Settings.from_dict(settings))
        mime = MIME.get(path.suffix.lower())
        with open(path, "rb") as fh:
            reader = c2pa.Reader.try_create(mime, fh, None, context)
            if reader is None:
                return Verification(str(path), has_manifest=False)
            state = reader.get_validation_state()
            results = reader.get_validation_results() or {}
            active = reader.get_active_manifest()
    except c2pa.C2paError as exc:
        return Verification(str(path), has_manifest=True, state="Invalid",
                            failures=["unreadable: " + " ".join(str(exc).split())[:300]])
    failures = [f["code"] for f in results.get("activeManifest", {}).get("failure", [])]
    return Verification(str(path), has_manifest=True, state=state,
                        failures=[c for c in failures if c != "signingCredential.untrusted"],
                        manifest=json.loads(json.dumps(active)) if active else None)
