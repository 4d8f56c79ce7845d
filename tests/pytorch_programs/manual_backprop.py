"""Backpropagation by hand, checked against autograd: a two-layer MLP with a batch norm written out, its
gradients derived tensor by tensor and compared with .grad, in the style of a lecture exercise; then the
network trained with the hand-written gradients.

PyTorch code as a lecture writes it; only the import lines differ (tinygrad_tf instead of torch).
"""
import tinygrad_tf as torch
import tinygrad_tf.nn.functional as F


def cmp(s, dt, t):
    ex = torch.all(dt == t.grad).item()
    app = torch.allclose(dt, t.grad)
    maxdiff = (dt - t.grad).abs().max().item()
    print(f'{s:15s} | exact: {str(ex):5s} | approximate: {str(app):5s} | maxdiff: {maxdiff}')
    assert app, s


g = torch.Generator().manual_seed(2147483647)
n_in, n_hidden, vocab, n = 6, 32, 5, 32
Xb = torch.randn(n, n_in, generator=g)
Yb = torch.randint(0, vocab, (n,), generator=g)
W1 = torch.randn((n_in, n_hidden), generator=g) * (5 / 3) / (n_in ** 0.5)
b1 = torch.randn(n_hidden, generator=g) * 0.1
W2 = torch.randn((n_hidden, vocab), generator=g) * 0.1
b2 = torch.randn(vocab, generator=g) * 0.1
bngain = torch.randn((1, n_hidden), generator=g) * 0.1 + 1.0
bnbias = torch.randn((1, n_hidden), generator=g) * 0.1
parameters = [W1, b1, W2, b2, bngain, bnbias]
for p in parameters:
    p.requires_grad = True

# forward, in small steps so that each has a gradient of its own
hprebn = Xb @ W1 + b1
bnmeani = 1 / n * hprebn.sum(0, keepdim=True)
bndiff = hprebn - bnmeani
bndiff2 = bndiff ** 2
bnvar = 1 / (n - 1) * bndiff2.sum(0, keepdim=True)
bnvar_inv = (bnvar + 1e-5) ** -0.5
bnraw = bndiff * bnvar_inv
hpreact = bngain * bnraw + bnbias
h = torch.tanh(hpreact)
logits = h @ W2 + b2
logit_maxes = logits.max(1, keepdim=True).values
norm_logits = logits - logit_maxes
counts = norm_logits.exp()
counts_sum = counts.sum(1, keepdims=True)
counts_sum_inv = counts_sum ** -1
probs = counts * counts_sum_inv
logprobs = probs.log()
loss = -logprobs[range(n), Yb].mean()
for p in parameters:
    p.grad = None
for t in [logprobs, probs, counts, counts_sum, counts_sum_inv, norm_logits, logit_maxes, logits, h, hpreact,
          bnraw, bnvar_inv, bnvar, bndiff2, bndiff, hprebn, bnmeani]:
    t.retain_grad()
loss.backward()

# backward, by hand
dlogprobs = torch.zeros_like(logprobs)
dlogprobs[range(n), Yb] = -1.0 / n
dprobs = (1.0 / probs) * dlogprobs
dcounts_sum_inv = (counts * dprobs).sum(1, keepdim=True)
dcounts = counts_sum_inv * dprobs
dcounts_sum = (-counts_sum ** -2) * dcounts_sum_inv
dcounts += torch.ones_like(counts) * dcounts_sum
dnorm_logits = counts * dcounts
dlogits = dnorm_logits.clone()
dlogit_maxes = (-dnorm_logits).sum(1, keepdim=True)
dlogits += F.one_hot(logits.max(1).indices, num_classes=logits.shape[1]) * dlogit_maxes
dh = dlogits @ W2.T
dW2 = h.T @ dlogits
db2 = dlogits.sum(0)
dhpreact = (1.0 - h ** 2) * dh
dbngain = (bnraw * dhpreact).sum(0, keepdim=True)
dbnbias = dhpreact.sum(0, keepdim=True)
dbnraw = bngain * dhpreact
dbnvar_inv = (bndiff * dbnraw).sum(0, keepdim=True)
dbndiff = bnvar_inv * dbnraw
dbnvar = (-0.5 * (bnvar + 1e-5) ** -1.5) * dbnvar_inv
dbndiff2 = (1.0 / (n - 1)) * torch.ones_like(bndiff2) * dbnvar
dbndiff += (2 * bndiff) * dbndiff2
dhprebn = dbndiff.clone()
dbnmeani = (-dbndiff).sum(0)
dhprebn += 1.0 / n * (torch.ones_like(hprebn) * dbnmeani)
dW1 = Xb.T @ dhprebn
db1 = dhprebn.sum(0)

for name, d, t in [('logprobs', dlogprobs, logprobs), ('probs', dprobs, probs), ('counts', dcounts, counts),
                   ('logits', dlogits, logits), ('h', dh, h), ('W2', dW2, W2), ('b2', db2, b2),
                   ('hpreact', dhpreact, hpreact), ('bngain', dbngain, bngain), ('bnbias', dbnbias, bnbias),
                   ('hprebn', dhprebn, hprebn), ('W1', dW1, W1), ('b1', db1, b1)]:
    cmp(name, d, t)

# cross-entropy's gradient in one line: softmax minus one-hot, over n
dlogits_fast = F.softmax(logits, 1)
dlogits_fast[range(n), Yb] -= 1
dlogits_fast /= n
cmp('logits (fast)', dlogits_fast, logits)

# train with the hand-written gradients only
print(f"loss_start {loss.item():.4f}")
with torch.no_grad():
    for step in range(100):
        hpre = Xb @ W1 + b1
        mean, var = hpre.mean(0, keepdim=True), hpre.var(0, keepdim=True, unbiased=True)
        raw = (hpre - mean) * (var + 1e-5) ** -0.5
        hh = torch.tanh(bngain * raw + bnbias)
        lg = hh @ W2 + b2
        loss = F.cross_entropy(lg, Yb)
        dlg = F.softmax(lg, 1)
        dlg[range(n), Yb] -= 1
        dlg /= n
        dhh = dlg @ W2.T
        dhp = bngain * (1.0 - hh ** 2) * dhh
        draw = dhp
        grads = [None, None, hh.T @ dlg, dlg.sum(0), ((1.0 - hh ** 2) * dhh * raw).sum(0, keepdim=True),
                 ((1.0 - hh ** 2) * dhh).sum(0, keepdim=True)]
        dhpre = (var + 1e-5) ** -0.5 / n * (n * draw - draw.sum(0) - n / (n - 1) * raw * (draw * raw).sum(0))
        grads[0], grads[1] = Xb.T @ dhpre, dhpre.sum(0)
        for p, grad in zip(parameters, grads):
            p.data += -0.1 * grad
print(f"loss_end {loss.item():.4f}")
print("sample:", [round(v, 3) for v in F.softmax(lg[0], 0).tolist()])
