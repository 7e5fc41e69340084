#!/usr/bin/env python3
"""Independent SM2/SM3/SM4 for the supervision interop test, using only the pure-Python
`gmssl` (PyPI) for the cryptography.

Run by `tests/api/supervision_crypto.rs`. Reads one JSON object from stdin, writes one to
stdout:

  {"cmd":"verify","public_hex":H,"msg":S,"sig_b64":B}      -> {"ok": true|false}
  {"cmd":"sign","secret_hex":D,"public_hex":H,"msg":S}     -> {"sig_b64": B}
  {"cmd":"sm4_encrypt","key_hex":K,"plain":S}              -> {"b64": base64(iv || ct)}
  {"cmd":"sm4_decrypt","key_hex":K,"b64":B}                -> {"plain": S}
  {"cmd":"sm3","data":S}                                   -> {"hex": H}

Messages and plaintexts are strings, taken as their UTF-8 bytes. SM2 is SM2withSM3 with
the default user id 1234567812345678 (gmssl's `sign_with_sm3`/`verify_with_sm3`);
signatures are base64 of r || s (64 bytes). SM4 is CBC with PKCS#7 and a random IV.
On a malformed request it writes {"error": ...} and exits 2; a signature that does not
verify is {"ok": false}, not an error.

gmssl 3.2.2 quirks this script works around:
- `CryptSM2.__init__` drops the "04" prefix with `public_key.lstrip("04")`, which strips
  every leading '0' and '4' character: a key whose x starts with either digit is silently
  corrupted (wrong Z, wrong point). Passing the 128-hex form does not help either when x
  itself starts with "04". The key is therefore set on the object after construction.
- `verify` reads only the first 128 hex characters of the signature (trailing data is
  ignored), does not check r and s are in [1, n-1], and returns 0 instead of False when
  r + s = n. Length and range are checked here first.
- `sign` draws its nonce with `random.choice` (not a CSPRNG) unless one is passed, and
  returns None in the rare bad-nonce cases: a nonce from `secrets` is passed, with a retry.
- `CryptSM4.crypt_cbc` decrypts without checking the padding (`data[:-data[-1]]`) or that
  the length is a multiple of 16. Lengths are checked here, and the padding is proven by
  re-encrypting the result under the same IV and comparing with the ciphertext.
- `sm3.sm3_hash` takes a list of ints (it appends to it), not bytes.
"""

import base64
import binascii
import json
import secrets
import sys

from gmssl import func, sm2, sm3
from gmssl.sm4 import SM4_DECRYPT, SM4_ENCRYPT, CryptSM4

N = int(sm2.default_ecc_table["n"], 16)
HEX_DIGITS = set("0123456789abcdefABCDEF")


class BadRequest(Exception):
    pass


def need(req, key):
    value = req.get(key)
    if not isinstance(value, str):
        raise BadRequest("missing string field %r" % key)
    return value


def hex_field(req, key, lengths):
    value = need(req, key)
    if len(value) not in lengths or not set(value) <= HEX_DIGITS:
        raise BadRequest("%s must be %s hex characters" % (key, " or ".join(map(str, lengths))))
    return value.lower()


def sm2_crypt(public_hex, secret_hex=""):
    """A CryptSM2 whose public key is exactly x || y (see the lstrip quirk above)."""
    xy = public_hex[2:] if len(public_hex) == 130 else public_hex
    if len(public_hex) == 130 and not public_hex.startswith("04"):
        raise BadRequest("a 130-hex public key must start with 04")
    crypt = sm2.CryptSM2(private_key=secret_hex, public_key=xy)
    crypt.public_key = xy
    return crypt


def cmd_verify(req):
    public_hex = hex_field(req, "public_hex", (128, 130))
    msg = need(req, "msg").encode("utf-8")
    sig_b64 = need(req, "sig_b64")
    try:
        sig = base64.b64decode(sig_b64, validate=True)
    except (binascii.Error, ValueError):
        return {"ok": False}
    if len(sig) != 64:
        return {"ok": False}
    r = int.from_bytes(sig[:32], "big")
    s = int.from_bytes(sig[32:], "big")
    if not (1 <= r < N and 1 <= s < N):
        return {"ok": False}
    crypt = sm2_crypt(public_hex)
    try:
        ok = crypt.verify_with_sm3(sig.hex(), msg)
    except (TypeError, ValueError, IndexError):
        # An off-curve key or a point at infinity ends in gmssl's arithmetic failing.
        ok = False
    return {"ok": ok is True}


def cmd_sign(req):
    secret_hex = hex_field(req, "secret_hex", (64,))
    public_hex = hex_field(req, "public_hex", (128, 130))
    msg = need(req, "msg").encode("utf-8")
    crypt = sm2_crypt(public_hex, secret_hex)
    for _ in range(16):
        k = "%064x" % (secrets.randbelow(N - 1) + 1)
        sig_hex = crypt.sign_with_sm3(msg, k)
        if sig_hex is not None:
            return {"sig_b64": base64.b64encode(bytes.fromhex(sig_hex)).decode("ascii")}
    raise BadRequest("gmssl produced no signature in 16 attempts")


def sm4(key_hex, mode):
    crypt = CryptSM4()
    crypt.set_key(bytes.fromhex(key_hex), mode)
    return crypt


def cmd_sm4_encrypt(req):
    key_hex = hex_field(req, "key_hex", (32,))
    plain = need(req, "plain").encode("utf-8")
    iv = secrets.token_bytes(16)
    ct = sm4(key_hex, SM4_ENCRYPT).crypt_cbc(iv, plain)
    return {"b64": base64.b64encode(iv + ct).decode("ascii")}


def cmd_sm4_decrypt(req):
    key_hex = hex_field(req, "key_hex", (32,))
    try:
        data = base64.b64decode(need(req, "b64"), validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("b64 is not base64")
    if len(data) < 32 or len(data) % 16 != 0:
        raise BadRequest("iv || ciphertext must be 16 + a positive multiple of 16 bytes")
    iv, ct = data[:16], data[16:]
    plain = sm4(key_hex, SM4_DECRYPT).crypt_cbc(iv, ct)
    if sm4(key_hex, SM4_ENCRYPT).crypt_cbc(iv, plain) != ct:
        raise BadRequest("bad PKCS#7 padding")
    try:
        return {"plain": plain.decode("utf-8")}
    except UnicodeDecodeError:
        raise BadRequest("plaintext is not UTF-8")


def cmd_sm3(req):
    data = need(req, "data").encode("utf-8")
    return {"hex": sm3.sm3_hash(func.bytes_to_list(data))}


COMMANDS = {
    "verify": cmd_verify,
    "sign": cmd_sign,
    "sm4_encrypt": cmd_sm4_encrypt,
    "sm4_decrypt": cmd_sm4_decrypt,
    "sm3": cmd_sm3,
}


def main():
    try:
        req = json.loads(sys.stdin.buffer.read().decode("utf-8"))
        if not isinstance(req, dict):
            raise BadRequest("the request must be a JSON object")
        handler = COMMANDS.get(req.get("cmd"))
        if handler is None:
            raise BadRequest("unknown cmd %r" % (req.get("cmd"),))
        answer = handler(req)
    except (BadRequest, ValueError) as e:
        write({"error": str(e)})
        return 2
    write(answer)
    return 0


def write(obj):
    # UTF-8 whatever the locale: plaintexts are Chinese.
    sys.stdout.buffer.write(json.dumps(obj, ensure_ascii=False).encode("utf-8") + b"\n")
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
