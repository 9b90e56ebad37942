# Symbolic links and special files are refused (not skipped): an image silently missing
# a file would ship.
mkdir a b
printf 'x' > a/real.py
ln -s real.py a/link.py
"$MKLFS" -c a -i a.bin || echo "exit $?"
mkfifo b/pipe
"$MKLFS" -c b -i b.bin || echo "exit $?"
ls
