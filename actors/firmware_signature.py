"""The image check of a signed firmware update (OCPP 1.6 security whitepaper,
SignedUpdateFirmware): the signature over the downloaded image.

The signing certificate itself is the evse_security requirement's to check (VerifyCertificate
against the manufacturer roots), before anything is downloaded. The signature is the base64 of
a signature over the whole image with the signing certificate's key: SHA-256 with RSA
(PKCS#1 v1.5) or ECDSA, what ``openssl dgst -sha256 -sign`` makes.
"""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["SignatureProblem", "check_signed_image"]


class SignatureProblem(Exception):
    """Why a signature is refused (one line for the log)."""


def _certificate(pem: str) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(pem.encode())
    except ValueError:
        raise SignatureProblem("the signing certificate is not a PEM certificate") from None


def check_signed_image(image: Path, pem: str, signature: str) -> None:
    """:class:`SignatureProblem` unless ``signature`` (base64) signs ``image`` with the key of
    the certificate ``pem``."""
    key = _certificate(pem).public_key()
    try:
        raw = base64.b64decode("".join(signature.split()), validate=True)
    except (binascii.Error, ValueError):
        raise SignatureProblem("the signature is not base64") from None
    data = image.read_bytes()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(raw, data, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(raw, data, ec.ECDSA(hashes.SHA256()))
        else:
            raise SignatureProblem(f"signing keys of type {type(key).__name__} are not supported")
    except InvalidSignature:
        raise SignatureProblem("the signature does not match the image") from None
