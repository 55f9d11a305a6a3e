"""Secure partitions, one module (or package) each with its manifest."""
