# Usage errors exit 1 with a message on stderr.
"$ADIFF" old.img new.img p.bin || echo "exit $?"
"$ADIFF" -l xx old.img new.img p.bin || echo "exit $?"
"$ADIFF" -l fs old.img new.img || echo "exit $?"
"$ADIFF" -l fs -m lots old.img new.img p.bin || echo "exit $?"
"$ADIFF" -l fs --layout missing.txt old.img new.img p.bin || echo "exit $?"
printf 'firmware 4M\nflash 9\n' > bad.txt
"$ADIFF" -l fs --layout bad.txt old.img new.img p.bin || echo "exit $?"
"$ADIFF" --bogus 2>/dev/null || echo "exit $?"
