# Bad options to `device new` are refused with the reason; an existing device is kept.
"$QPY" device new dev --model EC200U || echo "exit $?"
"$QPY" device new dev --imei 12345 || echo "exit $?"
"$QPY" device new dev --imei 868540050393723
"$QPY" device new dev || echo "exit $?"
"$QPY" device show dev | grep IMEI
