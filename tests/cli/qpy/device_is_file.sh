# --device naming a plain file.
echo 'print(1)' > a.py
"$QPY" --device a.py run a.py
