# A name longer than name_max (-n; 255 by default, littlefs v1's limit) is refused.
mkdir -p mount/lib
name=$(printf '%033d' 0)
printf 'x' > "mount/lib/$name"
"$MKLFS" -c mount -n 32 -i out.bin || echo "exit $?"
"$MKLFS" -c mount -n 33 -i out.bin && echo "33 is enough"
