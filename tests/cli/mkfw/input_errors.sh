# Bad input exits 1 and names the file and the problem; no partial image is left.
echo data > f.bin
mkdir -p app
echo x > "app/bad name.py"
"$MKFW" create -o x.img --model EC600S --version V --section cp=missing.bin || echo "exit $?"
"$MKFW" create -o x.img --model EC600S --version V --section cp=f.bin --section app=app || echo "exit $?"
"$MKFW" info missing.img || echo "exit $?"
"$MKFW" info f.bin || echo "exit $?"
: > empty.img
"$MKFW" info empty.img || echo "exit $?"
ls
