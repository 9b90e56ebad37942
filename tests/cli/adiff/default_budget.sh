# Without -m, adiff keeps the apply within 2 MiB of RAM for images at the default settings
# (issue 6: with 600 KB sections the patch streams alone would take 1 MiB dictionaries),
# and for a NEW.img whose LZMA encoder alone leaves less than 256 KiB of that (mkfw --dict
# 1M) it allows the encoder plus 512 KiB rather than refusing; -m 2M refuses that image.
. "$(dirname "$0")/mkimages.inc"
"$FWGEN" 600000 big1.bin
"$FWGEN" --variant 3 620000 big2.bin
"$MKFW" create -o b1.img --model EC600S --version B1 --section cp=big1.bin --section app=app1
"$MKFW" create -o b2.img --model EC600S --version B2 --section cp=big2.bin --section app=app2
"$ADIFF" -l fs b1.img b2.img p.bin >out.txt
ram=$(sed -n 's/^apply: \([0-9]*\) bytes of RAM.*/\1/p' out.txt)
[ "$ram" -le 2097152 ] && echo "default settings: apply RAM within 2 MiB"
"$MKFW" create -o b3.img --model EC600S --version B3 --dict 1M --section cp=big2.bin --section app=app2
"$ADIFF" -q -l fs b1.img b3.img q.bin && echo "--dict 1M image: made without -m"
"$ADIFF" -q -l fs -m 2M b1.img b3.img r.bin 2>/dev/null || echo "--dict 1M image with -m 2M: exit $?"
