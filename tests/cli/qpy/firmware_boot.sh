# The module boots from the firmware in its flash: the image's version is what
# getDevFwVersion() reports, an EC100Y gets an EC100Y image, and a damaged or missing
# image stops the boot with the reason (the firmware partition starts at flash 0x1000,
# file offset 8192 in flash.img).
"$QPY" device new dev --fw-version MYFW_V1 >/dev/null
echo 'import modem; print(modem.getDevModel(), modem.getDevFwVersion())' > v.py
"$QPY" --device dev run v.py
"$QPY" device new y --model EC100Y >/dev/null
"$QPY" --device y run v.py
printf 'X' | dd of=dev/flash.img bs=1 seek=$((8192 + 5000)) conv=notrunc 2>/dev/null
"$QPY" --device dev run v.py || echo "exit $?"
dd if=/dev/zero bs=4096 count=1 2>/dev/null | tr '\0' '\377' | dd of=dev/flash.img bs=4096 seek=2 conv=notrunc 2>/dev/null
"$QPY" --device dev run v.py || echo "exit $?"
