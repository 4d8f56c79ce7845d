"""A character-level LSTM language model over names of different lengths, in the style of RNN tutorials: the
names are padded with pad_sequence, packed with pack_padded_sequence (so the LSTM runs each name for its own
length), unpacked with pad_packed_sequence, and scored with a cross-entropy that ignores the padding. A second,
bidirectional GRU with LayerNorm and a BCEWithLogitsLoss head learns whether a name ends in a vowel. Sampling
feeds the LSTM one character at a time, carrying (h, c).

PyTorch code as such a program writes it; only the import lines differ (tinygrad_tf instead of torch).
Run as `python lstm_names.py` in a folder with names.txt; sizes are shrunk for a CPU.
"""
import tinygrad_tf as torch
import tinygrad_tf.nn as nn
import tinygrad_tf.nn.functional as F
from tinygrad_tf.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence

torch.manual_seed(42)
words = [w.strip() for w in open("names.txt").read().splitlines() if w.strip()][:400]
chars = sorted(set("".join(words)))
stoi = {ch: i + 2 for i, ch in enumerate(chars)}       # 0: padding, 1: start / end
itos = {i: ch for ch, i in stoi.items()}
vocab = len(chars) + 2


class NameLSTM(nn.Module):
    def __init__(self, vocab, emb=16, hidden=48):
        super().__init__()
        self.embed = nn.Embedding(vocab, emb, padding_idx=0)
        self.lstm = nn.LSTM(emb, hidden, num_layers=2, dropout=0.1, batch_first=True)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, x, lengths=None, state=None):
        e = self.embed(x)
        if lengths is not None:
            packed = pack_padded_sequence(e, lengths, batch_first=True, enforce_sorted=False)
            out, state = self.lstm(packed, state)
            out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
        else:
            out, state = self.lstm(e, state)
        return self.head(out), state


class EndsInVowel(nn.Module):
    def __init__(self, vocab, emb=8, hidden=16):
        super().__init__()
        self.embed = nn.Embedding(vocab, emb, padding_idx=0)
        self.gru = nn.GRU(emb, hidden, batch_first=True, bidirectional=True)
        self.norm = nn.LayerNorm(2 * hidden)
        self.out = nn.Linear(2 * hidden, 1)

    def forward(self, x, lengths):
        packed = pack_padded_sequence(self.embed(x), lengths, batch_first=True, enforce_sorted=False)
        _, h = self.gru(packed)                                 # (2, B, hidden): the last state of each direction
        h = torch.cat([h[0], h[1]], dim=1)
        return self.out(self.norm(h)).squeeze(1)


def batch(ws):
    xs = [torch.tensor([1] + [stoi[c] for c in w]) for w in ws]
    ys = [torch.tensor([stoi[c] for c in w] + [1]) for w in ws]
    lengths = torch.tensor([len(w) + 1 for w in ws])
    return pad_sequence(xs, batch_first=True), pad_sequence(ys, batch_first=True), lengths


def lm_loss(model, ws):
    x, y, lengths = batch(ws)
    logits, _ = model(x, lengths)
    return F.cross_entropy(logits.view(-1, vocab), y.view(-1), ignore_index=0)


@torch.no_grad()
def sample(model, max_len=12):
    model.eval()
    idx, state, out = torch.tensor([[1]]), None, []
    for _ in range(max_len):
        logits, state = model(idx, state=state)
        probs = F.softmax(logits[:, -1], dim=-1)
        nxt = torch.multinomial(probs, num_samples=1)
        if nxt.item() <= 1:
            break
        out.append(itos[nxt.item()])
        idx = nxt
    model.train()
    return "".join(out)


def main():
    model = NameLSTM(vocab)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    eval_words = words[:64]
    with torch.no_grad():
        model.eval()
        print(f"loss_start {lm_loss(model, eval_words).item():.4f}")
        model.train()
    for step in range(60):
        ix = torch.randint(0, len(words), (32,)).tolist()
        loss = lm_loss(model, [words[i] for i in ix])
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 20 == 0:
            print(f"step {step}: loss {loss.item():.4f}")
    with torch.no_grad():
        model.eval()
        print(f"loss_end {lm_loss(model, eval_words).item():.4f}")
    for _ in range(3):
        print(f"sample: {sample(model)}")

    clf = EndsInVowel(vocab)
    opt = torch.optim.AdamW(clf.parameters(), lr=2e-2)
    criterion = nn.BCEWithLogitsLoss()
    targets = torch.tensor([1.0 if w[-1] in "aeiouy" else 0.0 for w in words])
    x, _, lengths = batch(words)
    x, lengths = x[:, 1:], lengths - 1                      # no start token
    for step in range(40):
        loss = criterion(clf(x, lengths), targets)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        acc = ((clf(x, lengths) > 0).float() == targets).float().mean().item()
    print(f"ends-in-vowel: loss {loss.item():.4f}, accuracy {acc:.2%}")


if __name__ == "__main__":
    main()
