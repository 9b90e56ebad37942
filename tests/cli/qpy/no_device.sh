# --device naming a directory that holds no device.
echo 'print(1)' > a.py
"$QPY" --device nodev run a.py
