# Unreadable input: a missing folder, a file instead of one, a missing parameter or order
# file, a parameter file that is neither JSON nor key=value, and images that are not
# littlefs (exit 3).
printf 'x' > file.txt
mkdir mount
"$MKLFS" -c missing || echo "exit $?"
"$MKLFS" -c file.txt || echo "exit $?"
"$MKLFS" -c mount --param nope.json || echo "exit $?"
"$MKLFS" -c mount --order nope.txt || echo "exit $?"
printf 'just some words\n' > bad.cfg
"$MKLFS" -c mount --param bad.cfg || echo "exit $?"
"$MKLFS" -l missing.bin || echo "exit $?"
head -c 8192 /dev/zero > zeros.bin
"$MKLFS" -l zeros.bin || echo "exit $?"
"$MKLFS" -c mount -s 16384 -i small.bin
"$MKLFS" -l small.bin -b 8192 || echo "exit $?"
head -c 5000 /dev/zero > odd.bin
"$MKLFS" -u out -i odd.bin || echo "exit $?"
ls
