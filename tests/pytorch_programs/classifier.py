"""A small classifier trained the way an introductory course writes it: a synthetic two-spirals dataset in
TensorDatasets and DataLoaders, nn.Sequential, CrossEntropyLoss, SGD with momentum and a StepLR schedule,
accuracy in eval mode, and a checkpoint saved and loaded.

PyTorch code as a course writes it; only the import lines differ (tinygrad_tf instead of torch).
"""
import math

import tinygrad_tf as torch
import tinygrad_tf.nn as nn
import tinygrad_tf.optim as optim
from tinygrad_tf.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)


def spirals(n, noise=0.1):
    t = torch.rand(n) * 3 * math.pi
    cls = torch.randint(0, 2, (n,))
    sign = (cls * 2 - 1).float()
    x = torch.stack([t * torch.cos(t) * sign, t * torch.sin(t) * sign], dim=1) / (3 * math.pi)
    x = x + noise * torch.randn(n, 2)
    return x, cls


X_train, y_train = spirals(800)
X_test, y_test = spirals(200)
train_loader = DataLoader(TensorDataset(X_train, y_train), batch_size=32, shuffle=True, drop_last=True)
test_loader = DataLoader(TensorDataset(X_test, y_test), batch_size=100)

model = nn.Sequential(
    nn.Linear(2, 64),
    nn.ReLU(),
    nn.Linear(64, 64),
    nn.ReLU(),
    nn.Linear(64, 2),
)
criterion = nn.CrossEntropyLoss()
optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=10, gamma=0.5)


def evaluate(loader):
    model.eval()
    correct, total, loss_sum = 0, 0, 0.0
    with torch.no_grad():
        for xb, yb in loader:
            out = model(xb)
            loss_sum += criterion(out, yb).item() * yb.size(0)
            preds = out.argmax(dim=1)
            correct += (preds == yb).sum().item()
            total += yb.size(0)
    model.train()
    return loss_sum / total, correct / total


start_loss, start_acc = evaluate(test_loader)
print(f"loss_start {start_loss:.4f}")
for epoch in range(25):
    for xb, yb in train_loader:
        optimizer.zero_grad()
        loss = criterion(model(xb), yb)
        loss.backward()
        optimizer.step()
    scheduler.step()
    if epoch % 5 == 0:
        print(f"epoch {epoch}: lr {scheduler.get_last_lr()[0]:.4f} loss {loss.item():.4f}")
end_loss, end_acc = evaluate(test_loader)
print(f"loss_end {end_loss:.4f}")
print(f"accuracy {start_acc:.3f} -> {end_acc:.3f}")

torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": 25}, "classifier.pt")
checkpoint = torch.load("classifier.pt")
model.load_state_dict(checkpoint["model"])
optimizer.load_state_dict(checkpoint["optimizer"])
assert checkpoint["epoch"] == 25
print("sample:", model(torch.tensor([[0.1, -0.2]])).softmax(dim=-1).tolist())
