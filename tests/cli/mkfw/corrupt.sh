# Damaged images: each failure says what is wrong and where, exit 1.
FWGEN="$(dirname "$MKFW")/fwgen"
"$FWGEN" 20000 cp.bin
"$FWGEN" --seed 2 5000 dsp.bin
"$MKFW" create -o sys.img --model EC600S --version V1 --section cp=cp.bin --section dsp=dsp.bin
size=$(wc -c < sys.img)
# A flipped byte in dsp's data (the last bytes before the 32-byte trailer).
cp sys.img flip.img
printf '\377' | dd of=flip.img bs=1 seek=$((size - 40)) conv=notrunc 2>/dev/null
"$MKFW" info flip.img || echo "exit $?"
"$MKFW" extract flip.img out || echo "exit $?"
# A flipped byte in the trailer.
cp sys.img trailer.img
printf '\377' | dd of=trailer.img bs=1 seek=$((size - 1)) conv=notrunc 2>/dev/null
"$MKFW" info trailer.img || echo "exit $?"
# Truncated, and with bytes appended.
head -c $((size - 1)) sys.img > short.img
"$MKFW" info short.img || echo "exit $?"
head -c 200 sys.img > header_only.img
"$MKFW" info header_only.img || echo "exit $?"
cat sys.img cp.bin > long.img
"$MKFW" info long.img || echo "exit $?"
# A damaged header byte (the model) fails the header CRC.
cp sys.img model.img
printf 'X' | dd of=model.img bs=1 seek=41 conv=notrunc 2>/dev/null
"$MKFW" info model.img || echo "exit $?"
# Another major format version.
cp sys.img v2.img
printf '\002' | dd of=v2.img bs=1 seek=12 conv=notrunc 2>/dev/null
"$MKFW" info v2.img || echo "exit $?"
[ -e out/dsp.bin ] || echo "no partial dsp.bin"
