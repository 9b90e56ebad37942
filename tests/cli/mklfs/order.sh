# Entries go in by byte order of their names (upper case first), which is the order the
# module lists them in; --order puts the named paths first, in its order.
mkdir -p mount/usr
for f in b.py V05.bin a.py test.txt; do printf '%s' "$f" > "mount/usr/$f"; done
"$MKLFS" -c mount -i sorted.bin
"$MKLFS" -l sorted.bin | head -5
printf '/usr/test.txt\n# comments and blank lines are skipped\n\n/usr/a.py\n' > order.txt
"$MKLFS" -c mount --order order.txt -i ordered.bin
"$MKLFS" -l ordered.bin | head -5
