# qpy flash refuses, before writing anything: a file of the wrong size, a file that is
# not a file system, a firmware that is not an image, a damaged bundle, and usage mistakes.
"$QPY" device new dev >/dev/null
mkdir app
printf 'print("a")\n' > app/a.py
"$MKLFS" -c app -s 1048576 -i small.bin
"$MKLFS" --backup -c app -i backup.bin
"$MKLFS" -c app -i usr.bin
"$QPY" --device dev flash --customer-fs small.bin || echo "exit $?"
"$QPY" --device dev flash --customer-fs backup.bin || echo "exit $?"
head -c 5242880 /dev/zero > zeros.bin
"$QPY" --device dev flash --customer-fs zeros.bin || echo "exit $?"
"$QPY" --device dev flash --firmware usr.bin || echo "exit $?"
"$QPY" --device dev flash --backup-fs missing.bin || echo "exit $?"
# A good image with a bad one: nothing is written.
"$QPY" --device dev flash --customer-fs usr.bin --backup-fs zeros.bin || echo "exit $?"
"$QPY" --device dev fs ls /usr
"$MKLFS" --bundle prod.bundle --customer-fs usr.bin
cp prod.bundle bad.bundle
printf 'X' | dd of=bad.bundle bs=1 seek=5000 conv=notrunc 2>/dev/null
"$QPY" --device dev flash bad.bundle || echo "exit $?"
"$QPY" --device dev flash usr.bin || echo "exit $?"
"$QPY" --device dev flash || echo "exit $?"
"$QPY" --device dev flash prod.bundle --customer-fs usr.bin || echo "exit $?"
"$QPY" --device dev flash --frob || echo "exit $?"
"$QPY" --device nodev flash prod.bundle || echo "exit $?"
