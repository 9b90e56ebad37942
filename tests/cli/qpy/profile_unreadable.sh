# The profile is a directory, not a file: it cannot be read.
mkdir -p dev/device.json
echo 'print(1)' > a.py
"$QPY" --device dev run a.py
