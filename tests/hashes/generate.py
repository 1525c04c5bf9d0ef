#!/usr/bin/env python3
"""Hashes of one password, each made by a source platform's own library.

    python3 generate.py <password>

prints one JSON object whose fields are what each source exports for a user with that
password, with fresh random salts (and a fresh Firebase signer key) on every run:

- bcrypt: PyPI `bcrypt`, `$2b$` at its default cost (12), as Auth0 and CSV files carry it;
- argon2: PyPI `argon2-cffi`'s PasswordHasher at its defaults, a PHC string;
- django_pbkdf2_sha256, django_pbkdf2_sha1, django_argon2, django_bcrypt: Django's own
  hashers (`django.contrib.auth.hashers`) at Django's defaults;
- keycloak_pbkdf2_sha256, keycloak_pbkdf2_sha512, keycloak_argon2: {secretData,
  credentialData} JSON strings laid out as Keycloak writes them. Keycloak is Java, so the
  hash is made with what Keycloak computes: PBKDF2WithHmacSHA256/SHA512 is PBKDF2-HMAC over
  the UTF-8 password (Python's hashlib.pbkdf2_hmac; 27500 iterations and 32 bytes for
  pbkdf2-sha256, 210000 iterations and 64 bytes for pbkdf2-sha512), and Keycloak's argon2
  provider is raw Argon2id over the UTF-8 password (argon2-cffi's hash_secret_raw, Keycloak's
  defaults: 5 passes, 7168 KiB, 1 lane, 32 bytes, version 1.3); salts are 16 random bytes;
- firebase: {passwordHash, salt, hash_config: {signer_key, salt_separator, rounds,
  mem_cost}} as `firebase auth:export` and the console give them, made with PyPI
  `firebase-scrypt`'s generate_derived_key and encrypt (Firebase's modified scrypt).

Needs PyPI bcrypt, argon2-cffi, django and firebase-scrypt (which brings pycryptodome); made
with Python 3.11, bcrypt 5.0.0, argon2-cffi 25.1.0, Django 5.2.20 and firebase-scrypt 0.1.0.
bcrypt refuses passwords longer than 72 bytes, so the password must be at most that.
"""

import base64
import hashlib
import json
import os
import sys

import argon2
import argon2.low_level
import bcrypt
import firebase_scrypt
from django.conf import settings

settings.configure()

from django.contrib.auth.hashers import (  # noqa: E402  (needs the settings above)
    Argon2PasswordHasher,
    BCryptPasswordHasher,
    PBKDF2PasswordHasher,
    PBKDF2SHA1PasswordHasher,
)


def b64(data: bytes) -> str:
    """Standard base64 with padding, as Java's and Python's encoders write it."""
    return base64.b64encode(data).decode("ascii")


def compact(value: dict) -> str:
    """JSON without spaces, as Keycloak's Jackson writes it."""
    return json.dumps(value, separators=(",", ":"))


def django(password: str) -> dict:
    hashers = {
        "django_pbkdf2_sha256": PBKDF2PasswordHasher(),
        "django_pbkdf2_sha1": PBKDF2SHA1PasswordHasher(),
        "django_argon2": Argon2PasswordHasher(),
        "django_bcrypt": BCryptPasswordHasher(),
    }
    return {name: hasher.encode(password, hasher.salt()) for name, hasher in hashers.items()}


def keycloak_pbkdf2(password: str, algorithm: str, digest: str, iterations: int, length: int) -> dict:
    salt = os.urandom(16)
    value = hashlib.pbkdf2_hmac(digest, password.encode("utf-8"), salt, iterations, length)
    return {
        "secretData": compact({"value": b64(value), "salt": b64(salt), "additionalParameters": {}}),
        "credentialData": compact(
            {"hashIterations": iterations, "algorithm": algorithm, "additionalParameters": {}}
        ),
    }


def keycloak_argon2(password: str) -> dict:
    salt = os.urandom(16)
    iterations, memory, parallelism, length = 5, 7168, 1, 32
    value = argon2.low_level.hash_secret_raw(
        password.encode("utf-8"),
        salt,
        time_cost=iterations,
        memory_cost=memory,
        parallelism=parallelism,
        hash_len=length,
        type=argon2.low_level.Type.ID,
        version=19,
    )
    parameters = {
        "hashLength": [str(length)],
        "memory": [str(memory)],
        "type": ["id"],
        "version": ["1.3"],
        "parallelism": [str(parallelism)],
    }
    return {
        "secretData": compact({"value": b64(value), "salt": b64(salt), "additionalParameters": {}}),
        "credentialData": compact(
            {"hashIterations": iterations, "algorithm": "argon2", "additionalParameters": parameters}
        ),
    }


def firebase(password: str) -> dict:
    signer_key = os.urandom(64)
    salt_separator = base64.b64decode("Bw==")  # the separator Firebase projects show
    salt = os.urandom(12)
    rounds, mem_cost = 8, 14
    derived = firebase_scrypt.generate_derived_key(password, salt, salt_separator, rounds, mem_cost)
    return {
        "passwordHash": b64(firebase_scrypt.encrypt(signer_key, derived)),
        "salt": b64(salt),
        "hash_config": {
            "signer_key": b64(signer_key),
            "salt_separator": b64(salt_separator),
            "rounds": rounds,
            "mem_cost": mem_cost,
        },
    }


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: generate.py <password>")
    password = sys.argv[1]
    hashes = {
        "bcrypt": bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt()).decode("ascii"),
        "argon2": argon2.PasswordHasher().hash(password),
        **django(password),
        "keycloak_pbkdf2_sha256": keycloak_pbkdf2(password, "pbkdf2-sha256", "sha256", 27500, 32),
        "keycloak_pbkdf2_sha512": keycloak_pbkdf2(password, "pbkdf2-sha512", "sha512", 210000, 64),
        "keycloak_argon2": keycloak_argon2(password),
        "firebase": firebase(password),
    }
    print(json.dumps(hashes, indent=2))


if __name__ == "__main__":
    main()
