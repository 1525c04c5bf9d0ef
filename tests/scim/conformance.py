"""SCIM 2.0 conformance of a Latchkey tenant's SCIM endpoint, checked by scim2-tester
(https://pypi.org/project/scim2-tester/): discovery and its methods, then create, read,
replace, PATCH and delete of every attribute Latchkey publishes, on Users and Groups, and a
random URL.

Usage: python conformance.py <base URL, …/t/{slug}/scim/v2> <SCIM token>
Exits 1 when any check fails, printing every check with its status. Run by
`tests/tests/scim_conformance.rs` from `.ci/run`.
"""

import random
import sys
import uuid

import httpx2
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server, filling
from scim2_tester.checkers import patch_add, patch_replace

generic_value = filling.generate_random_value


def latchkey_value(context, path, *args, **kwargs):
    """The tester's random value, except for the two attributes whose format RFC 7643 gives
    but no SCIM schema can say, which Latchkey checks: a userName is an email address (the
    identity's, docs/scim.md) and a preferredLanguage a language tag (RFC 7231)."""
    value = generic_value(context, path, *args, **kwargs)
    name = str(path).rsplit(":", 1)[-1].lower()
    if value is not None and name == "username":
        return f"{uuid.uuid4()}@example.com"
    if value is not None and name == "preferredlanguage":
        return random.choice(["en", "de", "fr-CA", "pt-BR", "ja"])
    return value


for module in (filling, patch_add, patch_replace):
    module.generate_random_value = latchkey_value


def main() -> int:
    base_url, token = sys.argv[1], sys.argv[2]
    client = SyncSCIMClient(
        httpx2.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"})
    )
    results = check_server(client, raise_exceptions=False)
    failed = 0
    for result in results:
        print(f"{result.status.name:8} {result.title}: {result.reason or ''}")
        if result.status == Status.ERROR:
            failed += 1
    print(f"{len(results)} checks, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
