"""The key sets a stub and its client share: the merchant's pair (the client signs requests, the stub checks
them), the platform's pair (the stub signs answers, the client checks them) and the APIv3 key."""

from __future__ import annotations

import dataclasses
import functools
import secrets
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from settlements.providers.wechatpay.transport import WechatPayConfig

DEFAULT_MCHID = "1900000109"
DEFAULT_APPID = "wxd678efh567hg6787"
DEFAULT_MERCHANT_SERIAL = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
DEFAULT_PLATFORM_SERIAL = "PUB_KEY_ID_0119000001092025010100000000000001"
COMMISSION_REPORT_INFOS = (("岗位类型", "推广员"), ("报酬说明", "分销佣金"))
COMMISSION_PERCEPTION = "劳务报酬"


@dataclass(frozen=True)
class StubKeys:
    """What the stub needs: the merchant's public key (to check requests), the platform private key (to
    sign answers and decrypt names) and the APIv3 key (to encrypt notifications)."""

    mchid: str
    appid: str
    merchant_serial_no: str
    merchant_public_key_pem: str = field(repr=False)
    platform_serial_no: str
    platform_private_key_pem: str = field(repr=False)
    apiv3_key: str = field(repr=False)


@functools.cache
def rsa_private_key_pem(slot: str) -> str:
    """A 2048-bit RSA key per slot name, generated once per process: key generation is the slow part."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@functools.cache
def load_private(pem: str) -> rsa.RSAPrivateKey:
    # Our own freshly generated keys: skipping the (slow) consistency check is safe here.
    key = serialization.load_pem_private_key(pem.encode(), password=None, unsafe_skip_rsa_key_validation=True)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


@functools.cache
def public_key_pem(private_pem: str) -> str:
    key = load_private(private_pem)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def unrelated_private_key_pem() -> str:
    """A private key the stub does not know: a client signing with it must get 401 SIGN_ERROR."""
    return rsa_private_key_pem("unrelated")


def make_key_sets(*, mchid: str = DEFAULT_MCHID, appid: str = DEFAULT_APPID) -> tuple[WechatPayConfig, StubKeys]:
    """A matching pair: the client's config (base_url not yet pointing anywhere; use `stub.client_config`
    or `stub.make_client`) and the stub's keys. Merchant and platform keys differ, as in production."""
    merchant_private = rsa_private_key_pem("merchant")
    platform_private = rsa_private_key_pem("platform")
    apiv3_key = secrets.token_hex(16)  # 32 ASCII characters = 32 bytes
    config = WechatPayConfig(
        mchid=mchid,
        appid=appid,
        merchant_serial_no=DEFAULT_MERCHANT_SERIAL,
        private_key_pem=merchant_private,
        platform_serial_no=DEFAULT_PLATFORM_SERIAL,
        platform_public_key_pem=public_key_pem(platform_private),
        apiv3_key=apiv3_key,
        base_url="http://127.0.0.1:9",  # replaced by the stub's address
        # the commission scene (1005 佣金报酬) with the report infos WeChat requires on every bill
        transfer_user_recv_perception=COMMISSION_PERCEPTION,
        transfer_scene_report_infos=COMMISSION_REPORT_INFOS,
    )
    keys = StubKeys(
        mchid=mchid,
        appid=appid,
        merchant_serial_no=DEFAULT_MERCHANT_SERIAL,
        merchant_public_key_pem=public_key_pem(merchant_private),
        platform_serial_no=DEFAULT_PLATFORM_SERIAL,
        platform_private_key_pem=platform_private,
        apiv3_key=apiv3_key,
    )
    return config, keys


def rotated_keys(keys: StubKeys) -> StubKeys:
    """The same stub keys with the next platform key and serial (each rotation a new one)."""
    generation = int(keys.platform_serial_no[-4:]) + 1
    return dataclasses.replace(
        keys,
        platform_serial_no=f"{keys.platform_serial_no[:-4]}{generation:04d}",
        platform_private_key_pem=rsa_private_key_pem(f"platform-{generation}"),
    )
