#!/usr/bin/env python3
"""The Backprop benchmark's work, done by PyTorch: same networks, batch sizes, optimizer (Adam),
synthetic data and timing rules (median of undisturbed samples). Prints one JSON object per
figure, in the format of `bench --json`. Run by Benchmarks/compare-pytorch.sh."""
import argparse, json, os, time
import torch
import torch.nn as nn
import torch.nn.functional as F


class PTExample(nn.Module):
    """PyTorch's examples/mnist network."""
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3)
        self.conv2 = nn.Conv2d(32, 64, 3)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = self.dropout1(F.max_pool2d(x, 2))
        x = self.dropout2(F.relu(self.fc1(torch.flatten(x, 1))))
        return self.fc2(x)


def lenet():
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def mlp():
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))


class LoadMonitor:
    """Cores' worth of CPU used by other processes, from /proc/stat minus our own CPU time."""
    tolerance = 0.25

    def read(self):
        with open("/proc/stat") as f:
            fields = [float(v) for v in f.readline().split()[1:]]
        busy = sum(fields) - fields[3] - fields[4]
        own = sum(os.times()[:2]) * os.sysconf("SC_CLK_TCK")
        return busy, own, time.perf_counter()

    def other_load(self, start, end):
        seconds = end[2] - start[2]
        others = (end[0] - start[0]) - (end[1] - start[1])
        return max(0.0, others / os.sysconf("SC_CLK_TCK") / seconds) if seconds > 0 else 0.0

    def wait_for_quiet(self, window=1.0, limit=30.0):
        deadline = time.perf_counter() + limit
        while time.perf_counter() < deadline:
            start = self.read()
            time.sleep(window)
            if self.other_load(start, self.read()) < self.tolerance:
                return


def report(name, unit, values, discarded):
    values = sorted(values)
    n = len(values)
    median = values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2
    print(json.dumps({"name": name, "unit": unit, "median": round(median, 3), "min": round(values[0], 3),
                      "max": round(values[-1], 3), "samples": n, "discarded": discarded}), flush=True)


def measure(monitor, runs, name, unit, work, body):
    rates, discarded = [], 0
    while len(rates) < runs and discarded < 4 * runs:
        start = monitor.read()
        body()
        end = monitor.read()
        if monitor.other_load(start, end) > monitor.tolerance:
            discarded += 1
            monitor.wait_for_quiet()
            continue
        rates.append(work / (end[2] - start[2]))
    report(name, unit, rates, discarded)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", default="gemm,cnn,lenet,mlp")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    monitor = LoadMonitor()
    runs = 3 if args.quick else args.runs
    selected = set(args.only.split(","))
    monitor.wait_for_quiet()

    if "gemm" in selected:
        a, b = torch.rand(1024, 1024) * 2 - 1, torch.rand(1024, 1024) * 2 - 1
        reps = 10 if args.quick else 30
        torch.mm(a, b)
        measure(monitor, runs, "gemm_1024", "GFLOP/s", 2 * 1024 ** 3 * reps / 1e9,
                lambda: [torch.mm(a, b) for _ in range(reps)])

    builders = {"cnn": (PTExample, (1, 28, 28), 8 if args.quick else 24),
                "lenet": (lenet, (1, 28, 28), 40 if args.quick else 150),
                "mlp": (mlp, (784,), 40 if args.quick else 150)}
    for name, (build, shape, steps) in builders.items():
        if name not in selected:
            continue
        model = build()
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
        for batch in (64, 128):
            x = torch.randn(steps * batch, *shape)
            y = torch.randint(0, 10, (steps * batch,))

            def epoch():
                model.train()
                for i in range(steps):
                    optimizer.zero_grad()
                    loss = F.cross_entropy(model(x[i * batch:(i + 1) * batch]), y[i * batch:(i + 1) * batch])
                    loss.backward()
                    optimizer.step()
            epoch()  # warm-up
            measure(monitor, runs, f"{name}_train_b{batch}", "img/s", steps * batch, epoch)
        model.eval()
        with torch.inference_mode():
            for batch in (64, 1000):
                batches = max(1, (2000 if args.quick else 6000) // batch // (3 if name == "cnn" else 1))
                x = torch.randn(batch, *shape)
                model(x)
                measure(monitor, runs, f"{name}_infer_b{batch}", "img/s", batches * batch,
                        lambda: [model(x) for _ in range(batches)])
            single = torch.randn(1, *shape)
            for _ in range(20):
                model(single)
            times = []
            for _ in range(100 if args.quick else 400):
                start = time.perf_counter()
                model(single)
                times.append((time.perf_counter() - start) * 1e6)
            times.sort()
            n = len(times)
            report(f"{name}_latency_b1", "us", times[n // 10: n * 9 // 10 + 1], 0)


if __name__ == "__main__":
    main()
