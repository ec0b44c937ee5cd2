"""Print the README's benchmark table (markdown) from an asl-bench JSON file.

    python benchmarks/summarize.py runs/bench/bench.json
"""

import json
import sys

KEEP = [("python", "fp32", "default"), ("python", "fp32", "threads=1"),
        ("python", "fp32", "onnxslim"), ("python", "fp16", "default"),
        ("python", "int8", "default"), ("python", "int8-cpu", "default"),
        ("python", "int8-cpu", "threads=1"), ("keras", "fp32", "model.predict"),
        ("keras", "fp32", "tf.function"), ("keras", "fp32", "xla")]


def main(path: str) -> None:
    data = json.load(open(path))
    rows = [r for r in data["rows"] if not r["skipped"]]
    by = {(r["runtime"], r["precision"], r["variant"], r["batch_size"]): r for r in rows}
    print("| runtime | precision | variant | b1 p50 ms | b1 p99 ms | b256 img/s | test acc % | size KB |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    for rt, prec, var in KEEP:
        b1, b256 = by.get((rt, prec, var, 1)), by.get((rt, prec, var, 256))
        if not b1:
            continue
        acc = next((r["accuracy"] for r in rows if r["precision"] == prec and r["runtime"] == rt
                    and r["accuracy"] is not None), None)
        print(f"| {'ONNX Runtime CPU' if rt == 'python' else 'Keras/TF'} | {prec} | {var} | "
              f"{b1['latency_ms']['p50']:.3f} | {b1['latency_ms']['p99']:.3f} | "
              f"{b256['throughput_ips']:,.0f} | "
              f"{100 * acc:.2f} | {b1['size_bytes'] / 1024:.0f} |" if b256 and acc else
              f"| {rt} | {prec} | {var} | {b1['latency_ms']['p50']:.3f} | - | - | - | - |")
    pipe = next((r for r in rows if r["variant"].startswith("frame pipeline")), None)
    if pipe:
        print(f"\nframe pipeline 640x480 (preprocess + infer + draw, 1 thread): p50 "
              f"{pipe['latency_ms']['p50']:.3f} ms, p99 {pipe['latency_ms']['p99']:.3f} ms")
    for k, v in data.get("speedups", {}).items():
        print(f"- {k}: {v:.0f}x")
    s = data["system"]
    print(f"\nsystem: {s.get('cpu')}, {s.get('cores')} cores, flags {' '.join(s.get('cpu_flags', [])[:12])}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "runs/bench/bench.json")
