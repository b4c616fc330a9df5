"""Summarise a py-spy speedscope profile: inclusive and self share per frame.

    python bench/profile_report.py bench/results/profile-ROW.json [--only couples/] [--top 40]
"""
import argparse
import collections
import json


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("path")
    ap.add_argument("--only", default="", help="keep frames whose file contains this")
    ap.add_argument("--top", type=int, default=40)
    args = ap.parse_args()
    doc = json.load(open(args.path))
    frames = doc["shared"]["frames"]
    incl, self_, total = collections.Counter(), collections.Counter(), 0
    for prof in doc["profiles"]:
        for stack, weight in zip(prof["samples"], prof.get("weights") or [1] * len(prof["samples"])):
            total += weight
            for f in set(stack):
                incl[f] += weight
            if stack:
                self_[stack[-1]] += weight

    def name(f):
        fr = frames[f]
        return f"{fr['name']} ({fr.get('file', '').split('site-packages/')[-1].replace('/work/main/', '')}:{fr.get('line')})"

    def keep(f):
        return args.only in frames[f].get("file", "")

    print(f"{total} samples")
    print("-- inclusive")
    for f, c in [(f, c) for f, c in incl.most_common() if keep(f)][:args.top]:
        print(f"{100 * c / total:5.1f}%  {name(f)}")
    print("-- self")
    for f, c in self_.most_common(args.top // 2):
        print(f"{100 * c / total:5.1f}%  {name(f)}")


if __name__ == "__main__":
    main()
