import random

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _seed_everything():
    """Seed numpy, Python and (if already imported) torch, so every test is repeatable."""
    random.seed(0)
    np.random.seed(0)
    import sys

    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(0)
    yield
