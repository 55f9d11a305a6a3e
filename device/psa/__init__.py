"""The non-secure veneer: PSA Firmware Framework client API (filled in by the veneer work)."""
