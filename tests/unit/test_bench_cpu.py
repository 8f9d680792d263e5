"""The benchmarks' CPU meter counts a process tree's CPU, children that exited included."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from benchmarks.cpu import reaped_children_ns, tree_cpu_ns

BURN_S = 0.3
# A parent that runs a child burning BURN_S of CPU, waits for it, says so and idles: the child's time
# is then only in the parent's cutime.
PARENT = textwrap.dedent(
    f"""
    import subprocess, sys
    burn = "import time\\nt = time.process_time()\\nwhile time.process_time() - t < {BURN_S}: pass"
    subprocess.run([sys.executable, "-c", burn], check=True)
    print("reaped", flush=True)
    sys.stdin.read()
    """
)


def test_a_child_that_exited_still_counts_in_its_parents_tree() -> None:
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None and parent.stdout.readline().strip() == "reaped"
        assert reaped_children_ns(parent.pid) >= BURN_S * 0.8e9
        assert tree_cpu_ns(parent.pid) >= BURN_S * 0.8e9  # the tree's total never drops when a child exits
    finally:
        parent.kill()
        parent.wait()


def test_a_process_that_is_gone_counts_nothing() -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    assert reaped_children_ns(gone.pid) == 0 and tree_cpu_ns(gone.pid) == 0
