# Command-line mistakes: exit 2 and a pointer to --help.
mkdir mount
"$MKLFS" || echo "exit $?"
"$MKLFS" -c mount -s 5000000 || echo "exit $?"
"$MKLFS" -c mount -s 8192 || echo "exit $?"
"$MKLFS" -c mount -s lots || echo "exit $?"
"$MKLFS" -c mount -b 4096 -p 3000 || echo "exit $?"
"$MKLFS" -c mount -l x.bin || echo "exit $?"
"$MKLFS" -u out || echo "exit $?"
"$MKLFS" --frobnicate || echo "exit $?"
"$MKLFS" -c || echo "exit $?"
"$MKLFS" --pair --backup -c mount || echo "exit $?"
"$MKLFS" -c mount --partition customer_fs || echo "exit $?"
