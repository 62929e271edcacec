"""A local Alipay open-platform gateway for tests: the same form posts, the same RSA2 signatures, state that
remembers every `out_biz_no`, and programmable failures.

It is what the product's tests talk to instead of Alipay (docs/providers.md, "Alipay"). It checks every
request's common parameters and its signature with the app's public key, signs every answer with its own
"Alipay" key over the exact text of the `<method>_response` value, keeps the payer's balance and the payee
accounts (login id or user id, real name, frozen or not), and counts how many transfers really happened
per number, so tests can compare the money that moved with the ledger.

Typical use::

    from tests.stubs.alipay.server import AlipayStub, make_alipay_keys

    config, keys = make_alipay_keys()
    with AlipayStub(keys) as stub, stub.make_client(config) as client:
        stub.add_account("payee@example.com", "王小明")
        stub.fail_next("transfer", "timeout_after_success")   # execute, then drop the connection
        ...
        assert stub.executed_transfers() == {"W1X2": 1}

The modules: `orders` (the accounts, the transfer orders and what the two methods answer) and `server`
(the HTTP gateway, the request checks, the signing, the failure rules: `MODES`).
"""
