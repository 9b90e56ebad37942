# Without --device, qpy uses (and on first use creates) $XDG_DATA_HOME/openqpy/default.
echo 'import modem; print(len(modem.getDevImei()), modem.getDevModel())' > id.py
"$QPY" run id.py
test -f "$XDG_DATA_HOME/openqpy/default/device.json" && echo "created"
