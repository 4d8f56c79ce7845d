"""Learning-rate schedules, as ``torch.optim.lr_scheduler`` (import it as ``tinygrad_tf.optim.lr_scheduler``).

    sched = lr_scheduler.StepLR(opt, step_size=30, gamma=0.1)
    for epoch in range(100):
        train(...)              # opt.step() inside
        sched.step()            # after the optimizer's step, once per epoch (or per batch)

A scheduler writes ``param_groups[i]["lr"]`` (and, for OneCycleLR and CyclicLR, the momentum: SGD's
``momentum`` or Adam's ``betas[0]``); the optimizer reads it at its next step. Construction already sets
the value for step 0. ``get_last_lr()`` is what the last ``step()`` set.

Most schedules are written, as in PyTorch, in *chainable* form: each step multiplies the group's current
``lr`` by a factor, so schedules compose (``ChainedScheduler``, ``SequentialLR``) and an ``lr`` the user
writes into a group carries on from there. ``step(epoch)`` (deprecated in PyTorch) uses the closed form.
``LambdaLR``, ``WarmupCosine`` and the cyclic schedules are closed forms of ``base_lrs`` (each group's
``initial_lr``).

``state_dict()`` holds every number a schedule depends on (not the optimizer, not plain functions);
``load_state_dict`` restores it and also writes its last learning rates back into the optimizer's groups.

The code is in two files: lr_step.py (the base class, the schedules that are a function of the step
count, SequentialLR and ChainedScheduler) and lr_cycles.py (OneCycleLR, CyclicLR,
CosineAnnealingWarmRestarts, ReduceLROnPlateau). Nothing there imports the optimizers: a scheduler
works with any object that has ``param_groups`` and ``defaults`` — all that PyTorch's schedulers use
of an optimizer.
"""

from .lr_cycles import CosineAnnealingWarmRestarts, CyclicLR, OneCycleLR, ReduceLROnPlateau
from .lr_step import (ChainedScheduler, ConstantLR, CosineAnnealingLR, ExponentialLR, LambdaLR, LinearLR,
                      LRScheduler, MultiplicativeLR, MultiStepLR, PolynomialLR, SequentialLR, StepLR,
                      WarmupCosine, cosine_with_warmup)

__all__ = ["LRScheduler", "LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR", "LinearLR",
           "ExponentialLR", "SequentialLR", "PolynomialLR", "CosineAnnealingLR", "ChainedScheduler",
           "ReduceLROnPlateau", "CyclicLR", "CosineAnnealingWarmRestarts", "OneCycleLR",
           "WarmupCosine", "cosine_with_warmup"]
