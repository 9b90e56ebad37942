"""Shared by the test runners: a fresh virtual device with the seed's identity."""
import os
import subprocess

# The seed's module: the identity modem_repl.txt shows.
SEED_IDENTITY = ["--imei", "868540050393723", "--sn", "D1D20J60A0017870P",
                 "--fw-version", "EC600SCNAAR01A01M16_OCPU_PY_BETA1211", "--model", "EC600S"]
# Per test; the seed's threaded example alone takes 10 s.
TIMEOUT = 120


def new_device(qpy, parent):
    """Creates a device with the seed's identity under `parent`; returns its path."""
    path = os.path.join(parent, "device")
    subprocess.run([qpy, "device", "new", path] + SEED_IDENTITY, check=True)
    return path
