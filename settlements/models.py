# The double-entry ledger, settlement runs, providers and withdrawals (the ledger issue).
