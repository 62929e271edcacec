"""What the distributors app tells the apps above it. It cannot call them (they import it), so it sends a
signal inside the transaction of the change and each app that cares connects a receiver in its
AppConfig.ready(); docs/architecture.md lists the receivers."""

from django.dispatch import Signal

# Sent inside the blacklisting transaction with merchant, actor, distributor_ids (those blacklisted now,
# in id order) and reason. Receivers: commissions (the program's blacklist commission policy).
distributors_blacklisted = Signal()
