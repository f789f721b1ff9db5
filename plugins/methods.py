"""Built-in training methods, registered through ``register_methods`` exactly as a third-party plugin's are.

- ``adversarial``: the alternating D/G update of Goodfellow et al. 2014 with any registered loss
  (``ganzoo.AdversarialMethod``); DCGAN's and the MLP GAN's default.
"""

from __future__ import annotations

import ganzoo
from ganzoo.training.adversarial import AdversarialMethod


@ganzoo.hookimpl
def register_methods(register):
    register(
        "adversarial",
        AdversarialMethod,
        description="alternating D/G updates with any registered loss (Goodfellow et al. 2014)",
    )
