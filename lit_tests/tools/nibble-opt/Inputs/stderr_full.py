"""Run a command with stderr on /dev/full (every write fails) and print its exit status."""
import subprocess
import sys

with open("/dev/full", "w") as full:
    r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=full)
print(f"exit {r.returncode}")
