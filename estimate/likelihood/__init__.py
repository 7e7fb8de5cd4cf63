"""Maximum likelihood of a design's latent class model, in three parts.

* :mod:`.model`: the likelihood on observed response patterns, its parameters as tables, the EM step.
* :mod:`.optimise`: starts in batches until the best maximum is replicated, accelerated EM, Newton.
* :mod:`.inference`: the causal quantities, the information and the delta method at a maximum.
"""

from .inference import causal_quantities, face_delta
from .model import Likelihood, likelihood
from .optimise import MLEFit, maximise

__all__ = ["Likelihood", "MLEFit", "causal_quantities", "face_delta", "likelihood", "maximise"]
