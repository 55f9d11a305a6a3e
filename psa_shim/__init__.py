"""Host-only test shim: runs the secure world in a child process (filled in by the veneer work)."""
