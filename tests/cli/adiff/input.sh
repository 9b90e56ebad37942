# Bad input images exit 2, naming the problem; no package is written.
. "$(dirname "$0")/mkimages.inc"
echo data > f.bin
"$ADIFF" -l fs missing.img new.img p.bin || echo "exit $?"
"$ADIFF" -l fs f.bin new.img p.bin || echo "exit $?"
head -c 1000 new.img > short.img
"$ADIFF" -l fs old.img short.img p.bin || echo "exit $?"
"$MKFW" create -o other.img --model EC100Y --version V3 --section cp=cp2.bin
"$ADIFF" -l fs old.img other.img p.bin || echo "exit $?"
[ -e p.bin ] || echo "no p.bin"
