"""The optimizer cases scripts/make_optim_fixture.py records with PyTorch and tests/test_optim.py replays:
one table for both (plain data: the script imports it from tests/, the tests never import torch)."""

# name -> (optimizer class name, kwargs); "groups" cases put the second parameter in a group with lr * 0.5
CASES = {
    "sgd": ("SGD", dict(lr=0.1)),
    "sgd_momentum": ("SGD", dict(lr=0.05, momentum=0.9)),
    "sgd_dampening_wd": ("SGD", dict(lr=0.05, momentum=0.8, dampening=0.3, weight_decay=0.1)),
    "sgd_nesterov_wd": ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.05)),
    "adam": ("Adam", dict(lr=0.01)),
    "adam_wd_betas": ("Adam", dict(lr=0.02, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1)),
    "adam_amsgrad": ("Adam", dict(lr=0.01, amsgrad=True)),
    "adamw": ("AdamW", dict(lr=0.01)),
    "adamw_wd": ("AdamW", dict(lr=0.03, betas=(0.9, 0.95), weight_decay=0.3)),
    "adamw_groups": ("AdamW", dict(lr=0.03, weight_decay=0.1)),
    "sgd_groups": ("SGD", dict(lr=0.1, momentum=0.5)),
}
EXTRA_CASES = {   # PyTorch's options: maximize, decoupled weight decay, the options that change nothing here
    "sgd_maximize": ("SGD", dict(lr=0.02, momentum=0.9, weight_decay=0.1, maximize=True)),
    "adam_maximize": ("Adam", dict(lr=0.01, weight_decay=0.1, maximize=True)),
    "adamw_maximize_amsgrad": ("AdamW", dict(lr=0.01, amsgrad=True, maximize=True)),
    "adam_decoupled": ("Adam", dict(lr=0.02, weight_decay=0.3, decoupled_weight_decay=True)),
    "adamw_noop_options": ("AdamW", dict(lr=0.01, foreach=False, capturable=False, differentiable=False)),
}

# name -> (optimizer class name, kwargs, options of the second parameter's own group, events) where the
# events change the optimizer between steps: ("lr", step, group, value) writes param_groups[group]["lr"]
# before that step; ("add", step, options) starts with the first parameter only and adds the second
# with add_param_group(options) before that step.
GROUP_CASES = {
    "sgd_group_options": ("SGD", dict(lr=0.1, momentum=0.5),
                          dict(lr=0.02, momentum=0.9, nesterov=True, weight_decay=0.1, maximize=True), []),
    "adam_group_options": ("Adam", dict(lr=0.01), dict(betas=(0.8, 0.9), weight_decay=0.1, amsgrad=True,
                                                       maximize=True, eps=1e-3), []),
    "adamw_group_options": ("AdamW", dict(lr=0.02, weight_decay=0.1), dict(weight_decay=0.0, lr=0.05), []),
    "sgd_lr_written": ("SGD", dict(lr=0.1, momentum=0.9), dict(lr=0.05), [("lr", 2, 1, 0.5), ("lr", 4, 0, 0.01)]),
    "adam_lr_written": ("Adam", dict(lr=0.01), dict(), [("lr", 3, 0, 0.1)]),
    "adam_add_group": ("Adam", dict(lr=0.01), dict(lr=0.03, betas=(0.5, 0.6)), [("add", 2)]),
    "sgd_add_group": ("SGD", dict(lr=0.1, momentum=0.9), dict(momentum=0.0), [("add", 3)]),
}
