"""A small convolutional classifier, in the style of PyTorch's MNIST example and CNN lectures: Conv2d, BatchNorm2d,
ReLU(inplace=True), MaxPool2d, Dropout2d, AdaptiveAvgPool2d, Linear, trained with SGD + momentum and a StepLR
schedule from a TensorDataset through a DataLoader, then evaluated under model.eval() and torch.no_grad().

PyTorch code as such a program writes it; only the import lines differ (tinygrad_tf instead of torch).
The images are made up (no download): 12x12 pictures of a horizontal bar, a vertical bar, a diagonal or a box,
at random places, with noise. Run as `python cnn_classifier.py`.
"""
import tinygrad_tf as torch
import tinygrad_tf.nn as nn
import tinygrad_tf.nn.functional as F
from tinygrad_tf.optim.lr_scheduler import StepLR
from tinygrad_tf.utils.data import DataLoader, TensorDataset

torch.manual_seed(1337)
SIZE, CLASSES = 12, ["horizontal", "vertical", "diagonal", "box"]


def make_images(n):
    images = torch.randn(n, 1, SIZE, SIZE) * 0.3
    labels = torch.randint(0, len(CLASSES), (n,))
    offsets = torch.randint(1, SIZE - 6, (n, 2))
    for i in range(n):
        r, c = offsets[i].tolist()
        kind = labels[i].item()
        if kind == 0:
            images[i, 0, r + 2, c:c + 5] += 1.5
        elif kind == 1:
            images[i, 0, r:r + 5, c + 2] += 1.5
        elif kind == 2:
            for k in range(5):
                images[i, 0, r + k, c + k] += 1.5
        else:
            images[i, 0, r:r + 5, c] += 1.5
            images[i, 0, r:r + 5, c + 4] += 1.5
            images[i, 0, r, c:c + 5] += 1.5
            images[i, 0, r + 4, c:c + 5] += 1.5
    return images, labels


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, kernel_size=3, padding=1),
            nn.BatchNorm2d(8),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(8, 16, kernel_size=3, padding=1),
            nn.BatchNorm2d(16),
            nn.ReLU(inplace=True),
            nn.Dropout2d(0.1),
        )
        self.pool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(16, len(CLASSES))

    def forward(self, x):
        x = self.features(x)
        x = torch.flatten(self.pool(x), 1)
        return self.fc(x)


def evaluate(model, loader):
    model.eval()
    correct = total = 0
    loss = 0.0
    with torch.no_grad():
        for x, y in loader:
            out = model(x)
            loss += F.cross_entropy(out, y, reduction="sum").item()
            correct += (out.argmax(dim=1) == y).sum().item()
            total += y.shape[0]
    model.train()
    return loss / total, correct / total


def main():
    train_x, train_y = make_images(384)
    test_x, test_y = make_images(128)
    train_loader = DataLoader(TensorDataset(train_x, train_y), batch_size=32, shuffle=True)
    test_loader = DataLoader(TensorDataset(test_x, test_y), batch_size=64)
    model = Net()
    print(model)
    print(f"{sum(p.numel() for p in model.parameters())} parameters")
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    scheduler = StepLR(optimizer, step_size=3, gamma=0.5)
    criterion = nn.CrossEntropyLoss()
    start, _ = evaluate(model, test_loader)
    print(f"loss_start {start:.4f}")
    for epoch in range(6):
        for x, y in train_loader:
            optimizer.zero_grad()
            loss = criterion(model(x), y)
            loss.backward()
            optimizer.step()
        scheduler.step()
        test_loss, acc = evaluate(model, test_loader)
        print(f"epoch {epoch}: train loss {loss.item():.4f}, test loss {test_loss:.4f}, accuracy {acc:.2%}")
    print(f"loss_end {test_loss:.4f}")
    model.eval()
    with torch.no_grad():
        guesses = model(test_x[:4]).argmax(dim=1).tolist()
    for g, y in zip(guesses, test_y[:4].tolist()):
        print(f"sample: predicted {CLASSES[g]}, was {CLASSES[y]}")


if __name__ == "__main__":
    main()
