"""12 — Watch a previous-token head appear: train a tiny GPT for a few seconds, then read its attention.

The text is made of short alternating runs ("klklklkl", "pcpcpcpc", ...): inside a run the next character
is the one *two* back. A one-layer bigram can't know it; the model has to look back at the previous token
and carry it forward. After ~80 steps, layer 0 grows "previous-token" heads, and viz finds them:
entropy, attention masses, pattern tags, the heaviest connections, a heatmap, and rollout.

    python -i examples/12_attention_analysis.py
    >>> maps.heatmap(1, 0)                   # any head; maps.overview(), maps.analysis(), maps.rollout()
    >>> maps.to_json(layout="bertviz")       # the data, for a web front end or bertviz
"""

import numpy as np
from rich.console import Console

import tinygrad_tf as tg
from tinygrad_tf import viz
from tinygrad_tf.nn.models import GPT, GPTConfig
from tinygrad_tf.optim import AdamW

tg.manual_seed(0)
rng = np.random.default_rng(0)
console = Console(width=100)

# --- 1. data: runs "xyxyxyxy" of random letter pairs; the next letter is always the one two back
letters = list("abcdefghijklmnop")
text = "".join((a + b) * 4 for a, b in (rng.choice(letters, 2, replace=False) for _ in range(400)))
chars = sorted(set(text))
stoi = {c: i for i, c in enumerate(chars)}
data = np.array([stoi[c] for c in text])
print(f"text: {text[:48]}... ({len(text)} characters, vocabulary {len(chars)})")

# --- 2. a 2-layer, 2-head GPT and 80 AdamW steps on random 16-character windows (a few seconds)
T = 16
model = GPT(GPTConfig(vocab_size=len(chars), context_length=T, d_model=32, n_layer=2, n_head=2))
opt = AdamW(model.parameters(), lr=1e-2, weight_decay=0.0)
dash = viz.TrainingDashboard(total_steps=80, title="training (the dashboard a Trainer callback would get)",
                             plot_height=5)
for step in range(1, 81):
    x = tg.tensor(np.stack([data[i:i + T] for i in rng.integers(0, len(data) - T, 8)]))
    loss = model(x, labels=x).loss
    opt.zero_grad()
    loss.backward()
    opt.step()
    dash.update({"step": step, "loss": loss.item()})
console.print(dash)

# --- 3. attention on a fresh string: all heads at a glance, then the numbers
s = "klklklklpcpcpcpc"
maps = viz.attention_maps(model, [stoi[c] for c in s], tokens=list(s))
console.print(maps.overview())
console.print(maps.analysis())

# --- 4. the most "previous-token" head, as a heatmap with its analysis underneath
layer, head = max(((l, h) for l in range(2) for h in range(2)),
                  key=lambda lh: maps.stack().stats(*lh).mass["previous"])
console.print(maps.heatmap(layer, head))

# --- 5. attention rollout: how much each input character flows into each position at the top
console.print(maps.rollout())

# --- 6. the same data for other tools
records = maps.to_records()
print(f"JSON records: {len(records)} heads, keys {sorted(records[0])[:6]} ...; "
      f"bertviz layout keys {sorted(maps.to_bertviz())}")
found = sorted({tag for r in records for tag in r["patterns"]})
print(f"found patterns: {', '.join(found) or 'none'} (strongest previous-token head: layer {layer}, head {head}, "
      f"mass {maps.stack().stats(layer, head).mass['previous']:.2f})")
