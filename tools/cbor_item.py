"""Strict CBOR decoding for the host tools: bytes from a device must be exactly one CBOR item.

    from tools.cbor_item import loads_one
    obj = loads_one(data)      # ValueError when bytes follow the item; cbor2's own errors otherwise

cbor2.loads decodes the first item and ignores whatever follows it, so a token or frame with bytes
appended would pass; the attestation verifier and the gateway decode through this instead.
"""

import io

import cbor2


def loads_one(data):
    """The one CBOR item that is all of `data`."""
    fp = io.BytesIO(data)
    obj = cbor2.CBORDecoder(fp).decode()
    if fp.tell() != len(data):
        raise ValueError("%d bytes after the CBOR item" % (len(data) - fp.tell()))
    return obj
