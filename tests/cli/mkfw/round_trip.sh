# create -> info -> extract gives back every section; the app directory round-trips through
# its archive; the same inputs give the same image byte for byte.
FWGEN="$(dirname "$MKFW")/fwgen"
"$FWGEN" 300000 cp.bin
"$FWGEN" --seed 2 70000 dsp.bin
mkdir -p app/lib app/.git
echo "print('boot')" > app/boot.py
echo "VERSION = 2" > app/lib/ver.py
echo "hidden" > app/.git/HEAD
"$MKFW" create -o sys.img --model EC600S --version EC600SCNAAR01A01M16_OCPU_PY_BETA1211 \
    --section cp=cp.bin --section dsp=dsp.bin --section app=app
"$MKFW" info sys.img
"$MKFW" extract sys.img out
cmp out/cp.bin cp.bin
cmp out/dsp.bin dsp.bin
find out | sort
cat out/app/lib/ver.py
"$MKFW" create -o again.img --model EC600S --version EC600SCNAAR01A01M16_OCPU_PY_BETA1211 \
    --section cp=cp.bin --section dsp=dsp.bin --section app=app
cmp sys.img again.img && echo reproducible
