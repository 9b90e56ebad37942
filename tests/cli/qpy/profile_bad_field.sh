# Each broken field is named: a bad IMEI check digit, then a missing model.
"$QPY" device new dev --imei 868540050393723 >/dev/null
sed -i 's/868540050393723/868540050393724/' dev/device.json
echo 'print(1)' > a.py
"$QPY" --device dev run a.py || echo "exit $?"
sed -i 's/868540050393724/868540050393723/; /"model"/d' dev/device.json
"$QPY" --device dev run a.py || echo "exit $?"
