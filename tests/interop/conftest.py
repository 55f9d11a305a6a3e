import pytest


@pytest.fixture(autouse=True)
def _secure_world():
    """The default secure world (crypto service up), whatever earlier test modules left running."""
    from tests.device import tls_world

    tls_world.ensure()
    yield
