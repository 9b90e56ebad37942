# -v reports each section and the image on stderr; progress appears for inputs of 1 MiB or
# more (tests run without a terminal, so only -v shows it).
FWGEN="$(dirname "$MKFW")/fwgen"
"$FWGEN" 1100000 cp.bin
echo "print(1)" > boot.py
"$MKFW" -v create -o sys.img --model EC600S --version V1 --section cp=cp.bin --section app=boot.py 2>&1 | sed 's/ -> [0-9]* bytes/ -> N bytes/; s/wrote sys.img: [0-9]* bytes/wrote sys.img: N bytes/'
