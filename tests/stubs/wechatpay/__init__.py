"""A local WeChat Pay API v3 server for tests: same endpoints, same signing, programmable failures.

It is what the product's tests talk to instead of WeChat (docs/providers.md). It checks every
request's Authorization signature with the merchant's public key, signs every answer with the platform
key, decrypts encrypted name fields, and keeps state so that a number sent again is the same request.
Tests then count how many transfers and splits really happened per number and compare with the ledger.

Typical use::

    from tests.stubs.wechatpay.keys import make_key_sets
    from tests.stubs.wechatpay.server import WechatPayStub

    config, keys = make_key_sets()
    with WechatPayStub(keys) as stub, stub.make_client(config) as client:
        stub.fail_next("transfer", "timeout")          # execute, then drop the connection
        ...
        assert stub.executed_transfers() == {"W1": 1}

The modules, each importing only those above it:
    keys           the key sets a stub and its client share (`make_key_sets`)
    protocol       a handler's request (`Call`) and answer (`Reply`), the error texts tests compare with
    signing        checking requests, signing answers, decrypting names, encrypting notifications
    state          the provider's records and limits, scenario setup and inspection (`StubState`)
    profitsharing  receivers, splits, split queries, unfreezes and returns
    transfers      transfer bills and their queries
    notifications  callbacks, encrypted and signed as WeChat sends them
    routes         the route table: method + path -> endpoint name, handler, where the number is
    faults         the failure modes per endpoint, the rules that hold them, what each does to a request
    server         the HTTP server (`WechatPayStub`, `running_wechatpay_stub`)

Endpoints (names used by `fail_next` / `script`), from `routes.ROUTES`:
    receivers_add   POST /v3/profitsharing/receivers/add
    receivers_delete POST /v3/profitsharing/receivers/delete
    split           POST /v3/profitsharing/orders
    split_query     GET  /v3/profitsharing/orders/{out_order_no}?transaction_id=...
    unfreeze        POST /v3/profitsharing/orders/unfreeze
    return          POST /v3/profitsharing/return-orders
    transfer        POST /v3/fund-app/mch-transfer/transfer-bills
    transfer_query  GET  /v3/fund-app/mch-transfer/transfer-bills/out-bill-no/{out_bill_no}

Failure modes (see `faults.MODES`): before execution (nothing happens at the provider) "system_error",
"rate_limit", "timeout_before", "param_error", "not_enough", "order_not_ready", "error"; after execution
(it happened, the answer is lost or unusable) "timeout", "hang", "system_error_after", "error_after", "bad_gateway",
"unsigned", "forged", "stale_timestamp"; shaping the outcome "processing", "receiver_closed",
"transfer_fail", "wait_user_confirm"; and "ok" (a no-op slot for `script`).

Beyond single requests: a new split answers PROCESSING and finishes on a later query
(`split_processing_polls`); `refuse_splits_too_soon` refuses a payment's splits with INVALID_REQUEST in
WeChat's varying wording; `rotate_platform_key` signs with a new platform key and serial from then on.
Transfers as WeChat checks them: a bill without its scene's report infos is refused (PARAM_ERROR); a bill
waiting for its payee is confirmed with `confirm_transfer` or closed past its deadline
(`expire_unconfirmed_transfers`); a bill sent with a notify_url that ends is notified, signed and
encrypted, through `take_due_notifications`.
"""
