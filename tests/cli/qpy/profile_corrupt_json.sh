# A profile cut short: the message names the file and where parsing stopped.
"$QPY" device new dev --imei 868540050393723 >/dev/null
head -c 60 dev/device.json > cut && mv cut dev/device.json
echo 'print(1)' > a.py
"$QPY" --device dev run a.py
