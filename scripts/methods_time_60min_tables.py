"""The tables and plot of docs/results.md's 60-minute subsection (the six methods by the clock),
built from whatever runs bench/results/methods-time holds, by calling the table scripts the docs
list (method_comparison.py, time_to_accuracy.py) with every group written out. Standard library only.

    python3 scripts/methods_time_60min_tables.py    # prints the tables, rewrites docs/images/methods-time-60min.svg
"""
import glob, subprocess

RESULTS = "bench/results/methods-time"
# (directory prefix, label in the tables), in the docs' order.
METHODS = [("invp", "InvP"), ("npid", "NPID"), ("odc", "ODC (K 30)"), ("coke", "CoKe (K 100, 150, 200)"),
           ("invp-unmix", "InvP + Un-Mix"), ("npid-unmix", "NPID + Un-Mix")]

def script(*args):
    """Runs one of the table scripts and returns its output."""
    return subprocess.run(["python3", *args], capture_output=True, text=True, check=True).stdout.strip()

def main():
    groups = [f"{label}={RESULTS}/{key}-60min-s*" for key, label in METHODS if glob.glob(f"{RESULTS}/{key}-60min-s*")]
    print(script("scripts/method_comparison.py", "--clock", *groups), end="\n\n")
    print(script("scripts/method_comparison.py", "--clusters-only", "--cluster-file", "eval-cluster-backbone.json", *groups), end="\n\n")
    # Each 60-minute run beside the same method and seed at 10 and 30 minutes: what a longer clock buys.
    by_budget = []
    for key, label in METHODS:
        for run in sorted(glob.glob(f"{RESULTS}/{key}-60min-s*")):
            seed = run.rsplit("-s", 1)[1]
            by_budget += [f"{label}, seed {seed}, {m} min={RESULTS}/{key}-{m}min-s{seed}" for m in (10, 30, 60)]
    print(script("scripts/method_comparison.py", "--clock", *by_budget), end="\n\n")
    tta = script("scripts/time_to_accuracy.py", "--budgets", "10,20,30,40,50", "--target", "88",
                 "--svg", "docs/images/methods-time-60min.svg", *groups)
    print("\n".join(line for line in tta.splitlines() if not line.startswith("plot:")))

if __name__ == "__main__":
    main()
