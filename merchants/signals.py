"""What the merchants app tells the apps above it. It cannot call them (they import it), so it sends a
signal inside the transaction of the change and each app that cares connects a receiver in its
AppConfig.ready(); docs/architecture.md lists the receivers."""

from django.dispatch import Signal

# Sent inside the program update's transaction, after the program's own checks and before it is saved, with
# merchant and program (the new settings, unsaved). A receiver refuses the settings by raising an
# ApplicationError declared in merchants/errors.py (so the program API documents it). Receivers: settlements
# (the WeChat profit-sharing window against the after-sales days and the settlement schedule).
program_validating = Signal()
