#!/usr/bin/env python3
"""PyTorch side of the medmtl speed comparison.

Times ONE configuration per process (CPU only) and prints ONE JSON line:

  {"framework": "pytorch", "version": "2.15.0+cu132", "model": "small-cnn",
   "mode": "train", "batch": 128, "threads": 2, "steps": 20,
   "images_per_sec": 431.2, "peak_rss_mib": 612.3}

The models mirror the medmtl ones shape for shape (see README.md in this
folder). Diagnostics (losses) go to stderr so stdout stays one JSON line.

Usage:
  python torch_peer.py --model {small-cnn,resnet18,unet}
                       --mode {train,train-per-task,infer}
                       [--batch N] [--threads N] [--steps N] [--warmup N] [--seed N]
"""

import argparse
import json
import resource
import sys
import time

MODELS = ("small-cnn", "resnet18", "unet")
MODES = ("train", "train-per-task", "infer")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", choices=MODELS, required=True)
    p.add_argument("--mode", choices=MODES, required=True)
    p.add_argument("--batch", type=int, default=None,
                   help="batch size (default 128 for train modes, 256 for infer)")
    p.add_argument("--threads", type=int, default=2,
                   help="intra-op threads (torch.set_num_threads); inter-op is 1")
    p.add_argument("--steps", type=int, default=20, help="timed steps")
    p.add_argument("--warmup", type=int, default=3, help="untimed warm-up steps")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    if a.batch is None:
        a.batch = 256 if a.mode == "infer" else 128
    for name in ("batch", "threads", "steps"):
        if getattr(a, name) < 1:
            p.error(f"--{name} must be >= 1")
    if a.warmup < 0:
        p.error("--warmup must be >= 0")
    return a


args = parse_args()

import torch  # noqa: E402  (imported after arg parsing so --help is fast)
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

# Must happen before any parallel work.
torch.set_num_threads(args.threads)
torch.set_num_interop_threads(1)

BN_EPS = 1e-5
BN_MOMENTUM = 0.1


def conv_bn_relu(cin, cout, stride=1):
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(cout, eps=BN_EPS, momentum=BN_MOMENTUM),
        nn.ReLU(inplace=True),
    )


# --------------------------------------------------------------------------
# small-cnn: 1x28x28 -> 5 conv blocks [32,32,64,64,128], pool after 2 and 4
# --------------------------------------------------------------------------
class SmallCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            conv_bn_relu(1, 32),
            conv_bn_relu(32, 32),
            nn.MaxPool2d(2),
            conv_bn_relu(32, 64),
            conv_bn_relu(64, 64),
            nn.MaxPool2d(2),
            conv_bn_relu(64, 128),
        )
        self.head_cls = nn.Linear(128, 5)
        self.head_bin = nn.Linear(128, 1)

    def forward(self, x):
        f = self.features(x).mean(dim=(2, 3))  # global average pool
        return self.head_cls(f), self.head_bin(f)


# --------------------------------------------------------------------------
# resnet18: CIFAR-style ResNet-18 as in MedMNIST/experiments/MedMNIST2D/models.py
# --------------------------------------------------------------------------
class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout, eps=BN_EPS, momentum=BN_MOMENTUM)
        self.conv2 = nn.Conv2d(cout, cout, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout, eps=BN_EPS, momentum=BN_MOMENTUM)
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride=stride, bias=False),
                nn.BatchNorm2d(cout, eps=BN_EPS, momentum=BN_MOMENTUM),
            )
        else:
            self.shortcut = nn.Sequential()

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNet18(nn.Module):
    def __init__(self, in_channels=3):
        super().__init__()
        self.stem = conv_bn_relu(in_channels, 64)  # 3x3 s1, no max pool
        layers = []
        cin = 64
        for width, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            layers.append(BasicBlock(cin, width, stride))
            layers.append(BasicBlock(width, width, 1))
            cin = width
        self.layers = nn.Sequential(*layers)
        self.head_cls = nn.Linear(512, 5)
        self.head_bin = nn.Linear(512, 1)

    def forward(self, x):
        f = self.layers(self.stem(x)).mean(dim=(2, 3))  # 28->28->14->7->4, GAP
        return self.head_cls(f), self.head_bin(f)


# --------------------------------------------------------------------------
# unet: 1x64x64, encoder [16,32,64,128], bottleneck 256 @4x4, 3 heads
# --------------------------------------------------------------------------
def double_conv(cin, cout):
    return nn.Sequential(conv_bn_relu(cin, cout), conv_bn_relu(cout, cout))


class MultiHeadUNet(nn.Module):
    WIDTHS = (16, 32, 64, 128)

    def __init__(self, in_channels=1):
        super().__init__()
        self.enc = nn.ModuleList()
        cin = in_channels
        for w in self.WIDTHS:
            self.enc.append(double_conv(cin, w))
            cin = w
        self.bottleneck = double_conv(cin, 256)
        self.dec = nn.ModuleList()
        cin = 256
        for w in reversed(self.WIDTHS):  # 128, 64, 32, 16
            self.dec.append(double_conv(cin + w, w))  # upsampled ++ skip
            cin = w
        self.head_seg = nn.Conv2d(16, 1, 1, bias=True)
        self.head_cls = nn.Linear(256, 2)
        self.head_reg = nn.Linear(256, 1)

    def forward(self, x):
        skips = []
        h = x
        for block in self.enc:
            h = block(h)
            skips.append(h)
            h = F.max_pool2d(h, 2)
        b = self.bottleneck(h)  # 256 x 4 x 4
        h = b
        for block, skip in zip(self.dec, reversed(skips)):
            h = F.interpolate(h, scale_factor=2, mode="nearest")
            h = block(torch.cat([h, skip], dim=1))
        seg = self.head_seg(h)  # 1 x 64 x 64 logits
        f = b.mean(dim=(2, 3))
        return seg, self.head_cls(f), self.head_reg(f)


def soft_dice_loss(logits, target):
    p = torch.sigmoid(logits)
    inter = (p * target).sum()
    return 1.0 - (2.0 * inter + 1.0) / (p.sum() + target.sum() + 1.0)


# --------------------------------------------------------------------------
# model + data + per-task losses
# --------------------------------------------------------------------------
def build(model_name, batch):
    """Returns (model, inputs, task_losses_fn) with fixed random data."""
    g = torch.Generator().manual_seed(args.seed + 1)  # data, independent of init
    if model_name in ("small-cnn", "resnet18"):
        if model_name == "small-cnn":
            model, shape = SmallCnn(), (1, 28, 28)
        else:
            model, shape = ResNet18(3), (3, 28, 28)
        x = torch.randn(batch, *shape, generator=g)
        y_cls = torch.randint(0, 5, (batch,), generator=g)
        y_bin = torch.randint(0, 2, (batch, 1), generator=g).float()

        def losses(out):
            logits_cls, logits_bin = out
            return [F.cross_entropy(logits_cls, y_cls),
                    F.binary_cross_entropy_with_logits(logits_bin, y_bin)]

        return model, x, losses

    # unet
    model = MultiHeadUNet(1)
    x = torch.randn(batch, 1, 64, 64, generator=g)
    y_mask = torch.randint(0, 2, (batch, 1, 64, 64), generator=g).float()
    y_cls = torch.randint(0, 2, (batch,), generator=g)
    y_reg = torch.randn(batch, 1, generator=g)

    def losses(out):
        seg, logits_cls, reg = out
        return [F.binary_cross_entropy_with_logits(seg, y_mask) + soft_dice_loss(seg, y_mask),
                F.cross_entropy(logits_cls, y_cls),
                F.mse_loss(reg, y_reg)]

    return model, x, losses


def main():
    import_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    torch.manual_seed(args.seed)
    model, x, task_losses = build(args.model, args.batch)
    params = [p for p in model.parameters() if p.requires_grad]
    print(f"[torch_peer] {args.model}: {sum(p.numel() for p in params)} parameters, "
          f"input {tuple(x.shape)}; peak RSS after `import torch`: {import_rss_mib:.1f} MiB",
          file=sys.stderr)

    if args.mode == "infer":
        model.eval()

        def step():
            with torch.no_grad():
                out = model(x)
            return out[0]
    else:
        model.train()
        opt = torch.optim.Adam(params, lr=1e-3)

        if args.mode == "train":
            def step():
                losses = task_losses(model(x))
                loss = sum(losses)  # equal weights
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                return loss.detach()
        else:  # train-per-task: one backward per task, grads summed
            def step():
                losses = task_losses(model(x))
                n = len(losses)
                acc = [None] * len(params)
                for i, li in enumerate(losses):
                    grads = torch.autograd.grad(li, params, retain_graph=i < n - 1,
                                                allow_unused=True)
                    for j, gj in enumerate(grads):
                        if gj is None:
                            continue
                        acc[j] = gj if acc[j] is None else acc[j] + gj
                for p, gj in zip(params, acc):
                    p.grad = gj  # None for params no task reached
                opt.step()
                return sum(l.detach() for l in losses)

    for _ in range(args.warmup):
        step()
    t0 = time.perf_counter()
    c0 = time.process_time()
    last = None
    for _ in range(args.steps):
        last = step()
    elapsed = time.perf_counter() - t0
    cpu = time.process_time() - c0

    # Contention check: with T busy threads the process should burn ~T CPU
    # seconds per wall second; much less means another process took the cores.
    cpu_share = cpu / (elapsed * args.threads)
    print(f"[torch_peer] CPU time / (wall x threads) = {cpu_share:.2f}", file=sys.stderr)
    if cpu_share < 0.85:
        print(f"[torch_peer] WARNING: only {cpu_share:.0%} of {args.threads} thread(s) was "
              f"CPU time; the machine was probably busy, the timing is unreliable",
              file=sys.stderr)

    if args.mode != "infer":
        print(f"[torch_peer] final loss {float(last):.5f}, {elapsed:.3f}s for "
              f"{args.steps} steps", file=sys.stderr)
    else:
        print(f"[torch_peer] {elapsed:.3f}s for {args.steps} steps", file=sys.stderr)

    peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux
    print(json.dumps({
        "framework": "pytorch",
        "version": torch.__version__,
        "model": args.model,
        "mode": args.mode,
        "batch": args.batch,
        "threads": args.threads,
        "steps": args.steps,
        "images_per_sec": round(args.batch * args.steps / elapsed, 2),
        "peak_rss_mib": round(peak_rss_mib, 1),
    }), flush=True)


if __name__ == "__main__":
    main()
