"""The device application (non-secure side): gateway protocol, store-and-forward queue,
gateway link and the main loop. See docs/protocol.md.

    from device.app.protocol import ...      # framing and messages (shared with the gateway)
    from device.app.queue import StoreAndForwardQueue, ITSStorage
    from device.app.link import GatewayLink
    from device.app.main import Application, Backoff
"""
