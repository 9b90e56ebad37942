# Signed FOTA end to end (SPEC-patch §3.5, docs/SECURITY.md). A device whose profile holds a
# public key (qpy device new --fota-key): fota().verify() returns -1 with the reason for an
# unsigned package, one signed with another key and a signed one with a byte changed, and
# the firmware partition is untouched; a script cannot replace the profile's key; the package
# signed with the right key upgrades. A device without a key in its profile: a key set with
# fota.set_public_key() holds for that boot only; a package verified without a key and left
# pending is refused at boot once the profile holds a key, the firmware untouched.
. "$(dirname "$0")/v2image.inc"
"$ADIFF" --genkey key.pem
"$ADIFF" --genkey other.pem
"$ADIFF" --pubkey key.pem pub.pem
"$ADIFF" -q -l fs "$OLD" new.img unsigned.bin
"$ADIFF" -q -l fs --sign other.pem "$OLD" new.img wrong.bin
"$ADIFF" -q -l fs --sign key.pem "$OLD" new.img signed.bin
cp signed.bin tampered.bin
printf '\125' | dd of=tampered.bin bs=1 seek=9000 conv=notrunc 2>/dev/null
cmp -s signed.bin tampered.bin || echo "tampered.bin differs from signed.bin"
# The firmware partition: flash offset 0x1000, 4 MiB, after flash.img's 4 KiB header.
fw() { dd if="$1/flash.img" bs=4096 skip=2 count=1024 2>/dev/null | sha256sum; }
cat > check.py <<'PY'
import modem
print(modem.getDevFwVersion())
PY
stage="$(dirname "$0")/fota_stage.py"
"$QPY" device new dev --fota-key pub.pem >/dev/null
"$QPY" device show dev | tail -1
before=$(fw dev)
for p in unsigned wrong tampered; do
    "$QPY" --device dev fs cp $p.bin :/usr/FotaFile.bin
    "$QPY" --device dev run "$SEED/fota_file.py" 2>/dev/null || echo "exit $?"
done
"$QPY" --device dev fs cp pub.pem :/usr/pub.pem
"$QPY" --device dev run "$stage"
"$QPY" --device dev fs rm :/usr/pub.pem
"$QPY" --device dev run check.py
[ "$(fw dev)" = "$before" ] && echo "firmware untouched"
"$QPY" --device dev fs cp signed.bin :/usr/FotaFile.bin
"$QPY" --device dev run "$SEED/fota_file.py" 2>/dev/null || echo "exit $?"
"$QPY" --device dev run check.py
# No key in the profile: fota.set_public_key() for one boot.
"$QPY" device new dev2 >/dev/null
"$QPY" --device dev2 fs cp unsigned.bin :/usr/FotaFile.bin
"$QPY" --device dev2 fs cp pub.pem :/usr/pub.pem
"$QPY" --device dev2 run "$stage"
"$QPY" --device dev2 fs rm :/usr/pub.pem
"$QPY" --device dev2 run "$stage"
# Pending now; the profile gets the key before the next boot, which refuses the package.
python3 -c 'import json, sys
p = json.load(open("dev2/device.json"))
p["fota_public_key"] = open("pub.pem").read()
json.dump(p, open("dev2/device.json", "w"), indent="\t")'
before=$(fw dev2)
"$QPY" --device dev2 run check.py
[ "$(fw dev2)" = "$before" ] && echo "firmware untouched"
