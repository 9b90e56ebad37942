# -v says what goes in (stderr); without a terminal there is no redrawn progress line.
mkdir mount
printf 'a' > mount/a.py
printf 'bb' > mount/b.py
"$MKLFS" -v -c mount -i out.bin 2>&1
"$MKLFS" -v -u unpacked -i out.bin 2>&1
