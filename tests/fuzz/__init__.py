"""The standing fuzz campaign (issue 11): hostile input strategies, the hooks that mix them into
schemathesis cases, the hand-made requests schemathesis cannot make, and the credential kinds they are
sent with. `tests/test_api_fuzz.py` runs a fast pass in-process; `make fuzz` (tests/fuzz/campaign.py) runs
the long one against gunicorn on loopback."""
