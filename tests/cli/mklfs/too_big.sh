# A folder larger than the image: refused, saying by how much; no image is left behind.
mkdir mount
head -c 300000 /dev/zero > mount/big.bin
printf 'x' > mount/small.txt
"$MKLFS" --backup -c mount || echo "exit $?"
ls
