# The old scheme: LZOP sections round-trip and are larger than LZMA ones.
FWGEN="$(dirname "$MKFW")/fwgen"
"$FWGEN" 200000 cp.bin
"$MKFW" create -o lzo.img --model EC100Y --version V1 --section cp=cp.bin --codec lzop
"$MKFW" create -o lzma.img --model EC100Y --version V1 --section cp=cp.bin
"$MKFW" info lzo.img | grep -E 'model|codec'
"$MKFW" extract lzo.img out
cmp out/cp.bin cp.bin
[ "$(wc -c < lzma.img)" -lt "$(wc -c < lzo.img)" ] && echo "lzma smaller"
"$MKFW" create -o fast.img --model EC100Y --version V1 --section cp=cp.bin --codec lzop --level 1
"$MKFW" info fast.img | grep codec
"$MKFW" create -o small.img --model EC600S --version V1 --section cp=cp.bin --level 6 --dict 16K --bcj none
"$MKFW" info small.img | grep codec
