"""Standard Webhooks signing: the spec's published example, rotation, bad secrets."""

from __future__ import annotations

import base64

import pytest
from disclosure_publisher.domain.signing import BadSecret, decode_secret, sign, signature_header

# The example in the Standard Webhooks specification (spec/standard-webhooks.md).
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TS = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_specs_example_signature() -> None:
    assert sign(decode_secret(SPEC_SECRET), SPEC_ID, SPEC_TS, SPEC_BODY) == SPEC_SIGNATURE


def test_rotation_sends_one_signature_per_active_secret() -> None:
    new = decode_secret("whsec_" + base64.b64encode(b"n" * 32).decode())
    header = signature_header([new, decode_secret(SPEC_SECRET)], SPEC_ID, SPEC_TS, SPEC_BODY)
    parts = header.split(" ")
    assert len(parts) == 2
    assert parts[1] == SPEC_SIGNATURE
    assert all(p.startswith("v1,") for p in parts)


def test_a_delivery_without_secrets_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="at least one"):
        signature_header([], SPEC_ID, SPEC_TS, SPEC_BODY)


@pytest.mark.parametrize(
    "secret",
    [
        "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "whsec_not*base64",
        "whsec_" + base64.b64encode(b"x").decode(),
    ],
)
def test_bad_secrets_are_refused(secret: str) -> None:
    with pytest.raises(BadSecret):
        decode_secret(secret)
